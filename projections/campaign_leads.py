"""Read model: a campaign's leads, one row per enrolled contact, with where it stands in the steps.

`state` is `active` while the contact has steps to go and `finished` once it has none; the
current group and when it is (or was) due follow the enrollment's schedule, a deferral only ever
moving it later. `unsubscribed` is set when a step is withdrawn because the address was
suppressed (an unsubscribe, a STOP, a bounce or an operator), not when a reply withdrew it;
`replied` is set by the contact's reply. A batch is folded per enrollment and written with a few
set statements (storage/row_sets.py).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.sql import SQL

from domain.enrollment import Enrollment, WithdrawalCause
from storage.database import Database
from storage.paging import after, cursor_params, page
from storage.row_sets import insert_rows, update_rows

ACTIVE, FINISHED = "active", "finished"
LEAD_COLUMNS = [
    ("enrollment_id", "uuid"),
    ("campaign_id", "uuid"),
    ("contact_id", "uuid"),
    ("state", "text"),
    ("created_at", "timestamptz"),
    ("current_group", "integer"),
    ("next_due_at", "timestamptz"),
]
KEY = [("enrollment_id", "uuid")]
COLUMN_TYPES = {
    "state": "text",
    "current_group": "integer",
    "next_due_at": "timestamptz",
    "replied": "boolean",
    "unsubscribed": "boolean",
}


class CampaignLeads:
    name = "campaign_leads"
    tables = ("campaign_leads",)
    events = (
        Enrollment.ContactEnrolled,
        Enrollment.GroupScheduled,
        Enrollment.StepDeferred,
        Enrollment.StepWithdrawn,
        Enrollment.EnrollmentFinished,
        Enrollment.ContactReplied,
        Enrollment.StepSent,
    )

    def reset(self, cur: Any) -> None:
        cur.execute("DELETE FROM campaign_leads")

    def apply(self, cur: Any, events: list[tuple[int, Any]]) -> None:
        rows: list[tuple[Any, ...]] = []
        patches: dict[UUID, dict[str, Any]] = defaultdict(dict)
        later: dict[UUID, datetime] = {}  # deferrals of a due time this batch did not set: GREATEST in SQL
        for _, event in events:
            lead = event.originator_id
            if isinstance(event, Enrollment.ContactEnrolled):
                rows.append(
                    (
                        lead,
                        event.campaign_id,
                        event.contact_id,
                        ACTIVE,
                        event.timestamp,
                        event.group,
                        event.due_at,
                    )
                )
            elif isinstance(event, Enrollment.GroupScheduled):
                patches[lead].update(current_group=event.group, next_due_at=event.due_at)
                later.pop(lead, None)
            elif isinstance(event, Enrollment.EnrollmentFinished) or (
                isinstance(event, Enrollment.StepSent) and event.finished
            ):
                patches[lead].update(state=FINISHED, current_group=None, next_due_at=None)
                later.pop(lead, None)
            elif isinstance(event, Enrollment.StepSent) and event.next_group is not None:
                # the send scheduled the next group (before v3: an event of its own)
                patches[lead].update(current_group=event.next_group, next_due_at=event.next_due_at)
                later.pop(lead, None)
            elif isinstance(event, Enrollment.ContactReplied):
                patches[lead]["replied"] = True
            elif isinstance(event, Enrollment.StepWithdrawn):
                if event.withdrawal_cause is not WithdrawalCause.REPLIED:
                    patches[lead]["unsubscribed"] = True
            elif isinstance(event, Enrollment.StepDeferred):
                if "next_due_at" in patches[lead]:  # set earlier in this batch: compare here
                    known = patches[lead]["next_due_at"]
                    patches[lead]["next_due_at"] = known and max(known, event.due_at)
                else:
                    later[lead] = max(later.get(lead, event.due_at), event.due_at)
        insert_rows(cur, "campaign_leads", LEAD_COLUMNS, rows, "ON CONFLICT (enrollment_id) DO NOTHING")
        by_columns: dict[tuple[str, ...], list[tuple[Any, ...]]] = defaultdict(list)
        for lead, patch in patches.items():
            if patch:
                by_columns[tuple(patch)].append((*patch.values(), lead))
        for columns, params in by_columns.items():
            update_rows(cur, "campaign_leads", [(c, COLUMN_TYPES[c]) for c in columns], KEY, params)
        if later:
            update_rows(
                cur,
                "campaign_leads",
                [("next_due_at", "timestamptz")],
                KEY,
                [(due, lead) for lead, due in later.items()],
                condition=SQL("AND t.state = 'active'"),
                assign=SQL("next_due_at = GREATEST(t.next_due_at, u.next_due_at)"),
            )


def leads(
    db: Database, campaign_id: UUID, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the campaign's leads in enrollment order; the caller has checked the campaign is
    the brand's. InvalidCursor for a cursor not handed out."""
    rows = db.fetch_all(
        f"""SELECT *, enrollment_id AS id FROM campaign_leads
           WHERE campaign_id = %(campaign)s AND {after("enrollment_id")}
           ORDER BY created_at, enrollment_id LIMIT %(limit)s""",
        {"campaign": campaign_id, "limit": limit + 1, **cursor_params(cursor)},
    )
    return page(rows, limit)
