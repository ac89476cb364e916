"""Read model: the StepExecutions, one row per contact and planned step of a campaign.

Enrolling a contact adds a row per step it can receive (pending); scheduling a group (the first
with the enrollment, a later one by the send that ends the group before it) sets when its steps are
due; dispatch, attempt (with the sender), send (with the provider's id), failure, deferral,
cancellation and withdrawal move the row's status, with the reason as its error; then
the provider's delivery report (delivered, undelivered, a voicemail answered by a person) and a
reply (`replied_at`, on the step it answered), and the step's first open (`opened_at`); each
time is its event's own timestamp. Each row also keeps when the contact first reached each stage
of the console's funnel on that step (`REACHED`: sent, delivered, opened, clicked, replied, bounced,
unsubscribed; the earliest event's own time, whatever order the events commit in), so the funnel as
of any moment is one grouped count (projections/campaign_moments.py). A
batch is folded in memory into the last word per row, then written with a few set statements
(storage/row_sets.py), so thousands of sends cost a handful of statements.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from domain.enrollment import Enrollment, StepStatus
from domain.steps import StepData
from projections import step_funnels
from storage.database import Database
from storage.paging import InvalidCursor, cursor_params, page
from storage.row_sets import insert_rows, update_rows

Patch = dict[str, Any]  # column -> new value, for one (enrollment, step) row
REACHES: dict[type, str] = {  # the funnel stage an event takes its contact to on its step
    Enrollment.StepSent: "sent",
    Enrollment.StepDelivered: "delivered",
    Enrollment.StepOpened: "opened",
    Enrollment.StepClicked: "clicked",
    Enrollment.ContactReplied: "replied",
    Enrollment.StepUndelivered: "bounced",
}
REACHED = ("sent", "delivered", "opened", "clicked", "replied", "bounced", "unsubscribed")


def reached(event: Any) -> str | None:
    """The funnel stage one event takes its contact to on its step, if any (a reply before
    anything was sent answers no step; a withdrawal counts when the contact unsubscribed)."""
    if getattr(event, "step_id", None) is None:
        return None
    if isinstance(event, Enrollment.StepWithdrawn):
        return "unsubscribed" if event.withdrawal_cause.is_unsubscribe else None
    return REACHES.get(type(event))


def _patch(event: Any) -> Patch:
    """What one step event changes in its row."""
    if isinstance(event, Enrollment.StepDispatched):
        return {"status": StepStatus.DISPATCHED.value}
    if isinstance(event, Enrollment.StepAttempted):
        return {"status": StepStatus.ATTEMPTED.value, "sender_account_id": event.sender_account_id}
    if isinstance(event, Enrollment.StepSent):
        return {
            "status": StepStatus.SENT.value,
            "sender_account_id": event.sender_account_id,
            "provider_message_id": event.provider_message_id,
            "sent_at": event.timestamp,
            "error": None,
        }
    if isinstance(event, Enrollment.ContactReplied):
        return {"replied_at": event.timestamp}
    if isinstance(event, Enrollment.StepOpened):  # the step's first open: its status stays
        return {"opened_at": event.timestamp}
    if isinstance(event, Enrollment.StepDelivered):
        return {"status": StepStatus.DELIVERED.value, "error": None}
    if isinstance(event, Enrollment.StepAnsweredByHuman):
        return {"status": StepStatus.ANSWERED_BY_HUMAN.value, "error": "answered by a human: hung up"}
    if isinstance(event, Enrollment.StepDeferred):
        return {"status": StepStatus.PENDING.value, "scheduled_for": event.due_at, "error": event.reason}
    statuses = {
        Enrollment.StepFailed: StepStatus.FAILED,
        Enrollment.StepCancelled: StepStatus.CANCELLED,
        Enrollment.StepWithdrawn: StepStatus.WITHDRAWN,
        Enrollment.StepUndelivered: StepStatus.UNDELIVERED,
    }
    return {"status": statuses[type(event)].value, "error": event.reason}


def _pending(enrolled: Any, step: StepData, scheduled_for: datetime | None) -> tuple[Any, ...]:
    """The row of a step a contact was just enrolled in (`PENDING_COLUMNS`): pending, or
    dispatched when its group went out with the enrollment."""
    dispatched = any(sent_off["step_id"] == step["id"] for sent_off in enrolled.dispatched or ())
    return (
        enrolled.originator_id,
        step["id"],
        enrolled.campaign_id,
        enrolled.contact_id,
        step["type"],
        step["group"],
        step["order"],
        (StepStatus.DISPATCHED if dispatched else StepStatus.PENDING).value,
        enrolled.timestamp,
        scheduled_for,
    )


PENDING_COLUMNS = [
    ("enrollment_id", "uuid"),
    ("step_id", "text"),
    ("campaign_id", "uuid"),
    ("contact_id", "uuid"),
    ("type", "text"),
    ("step_group", "integer"),
    ("step_order", "integer"),
    ("status", "text"),
    ("created_at", "timestamptz"),
    ("scheduled_for", "timestamptz"),
]
ROW_KEY = [("enrollment_id", "uuid"), ("step_id", "text")]
COLUMN_TYPES = {  # the columns a step event changes
    "status": "text",
    "sender_account_id": "text",
    "provider_message_id": "text",
    "sent_at": "timestamptz",
    "error": "text",
    "replied_at": "timestamptz",
    "opened_at": "timestamptz",
    "scheduled_for": "timestamptz",
}


class StepExecutions:
    name = "step_executions"
    tables = ("step_executions", "step_funnel_counts", "step_funnel_moments")  # the funnel's counts too
    events = (
        Enrollment.ContactEnrolled,
        Enrollment.GroupScheduled,
        Enrollment.StepDispatched,
        Enrollment.StepAttempted,
        Enrollment.StepSent,
        Enrollment.StepFailed,
        Enrollment.StepDeferred,
        Enrollment.StepCancelled,
        Enrollment.StepWithdrawn,
        Enrollment.StepDelivered,
        Enrollment.StepUndelivered,
        Enrollment.StepAnsweredByHuman,
        Enrollment.ContactReplied,
        Enrollment.StepOpened,
        Enrollment.StepClicked,  # only when each stage was first reached
    )

    def reset(self, cur: Any) -> None:
        cur.execute("DELETE FROM step_executions")
        step_funnels.reset(cur)

    def apply(self, cur: Any, events: list[tuple[int, Any]]) -> None:
        enrolled: dict[tuple[UUID, str], tuple[Any, StepData]] = {}  # (event, step) per new row
        # A group is scheduled before any of its steps moves, so these go between rows and patches;
        # a row enrolled in this same batch is inserted with its time.
        scheduled: dict[tuple[UUID, int], datetime] = {}
        patches: dict[tuple[UUID, str], Patch] = defaultdict(dict)
        firsts: dict[tuple[UUID, str], dict[str, datetime]] = defaultdict(dict)
        for _, event in events:
            stage = reached(event)
            if stage is not None:
                seen = firsts[(event.originator_id, event.step_id)]
                seen[stage] = min(seen.get(stage, event.timestamp), event.timestamp)
            if isinstance(event, Enrollment.StepClicked):
                continue
            if isinstance(event, Enrollment.ContactEnrolled):
                for step in event.plan:
                    if step["type"] != "WAIT":
                        enrolled.setdefault((event.originator_id, step["id"]), (event, step))
                if event.group is not None and event.due_at is not None:  # before v3: a GroupScheduled
                    scheduled[(event.originator_id, event.group)] = event.due_at
            elif isinstance(event, Enrollment.GroupScheduled):
                scheduled[(event.originator_id, event.group)] = event.due_at
            elif isinstance(event, Enrollment.StepSent):
                patches[(event.originator_id, event.step_id)].update(_patch(event))
                if event.next_group is not None and event.next_due_at is not None:  # before v3: its own event
                    scheduled[(event.originator_id, event.next_group)] = event.next_due_at
            elif isinstance(event, Enrollment.ContactReplied):
                if event.step_id is not None:  # a reply before anything was sent answers no step
                    patches[(event.originator_id, event.step_id)].update(_patch(event))
            else:
                patches[(event.originator_id, event.step_id)].update(_patch(event))
        # The funnel's counts move by the difference of the rows this batch makes or changes:
        # those it changes, read before, and, after, those it changes and those it inserted (a row
        # already there is left as it was by the insert).
        changed = list(dict.fromkeys([*patches, *firsts]))
        before = step_funnels.touched(cur, changed)
        rows = [
            _pending(event, step, scheduled.get((event.originator_id, step["group"])))
            for event, step in enrolled.values()
        ]
        inserted: list[tuple[UUID, str]] = []
        if rows:
            with cur.connection.cursor(row_factory=tuple_row) as mine:
                insert_rows(
                    mine,
                    "step_executions",
                    PENDING_COLUMNS,
                    rows,
                    "ON CONFLICT DO NOTHING RETURNING enrollment_id, step_id",
                )
                inserted = [(row[0], row[1]) for row in mine.fetchall()]
        enrolled_here = {enrollment_id for enrollment_id, _ in enrolled}
        update_rows(
            cur,
            "step_executions",
            [("scheduled_for", "timestamptz")],
            [("enrollment_id", "uuid"), ("step_group", "integer")],
            [(due, *key) for key, due in scheduled.items() if key[0] not in enrolled_here],
        )
        _rewrite(cur, patches, firsts)
        step_funnels.count_changes(
            cur, before, step_funnels.touched(cur, dict.fromkeys([*inserted, *changed]))
        )


FIRSTS = [(f"{stage}_first_at", "timestamptz") for stage in REACHED]


def _rewrite(
    cur: Any, patches: dict[tuple[UUID, str], Patch], firsts: dict[tuple[UUID, str], dict[str, datetime]]
) -> None:
    """Each row's patch and its first-reached times in one UPDATE of that row (a statement per set
    of columns): every UPDATE of a row writes a whole new copy of it, so a send's status and its
    `sent_first_at` written apart left two copies. A `<stage>_first_at` becomes the earlier of the
    row's own and this batch's (LEAST skips a NULL)."""
    by_columns: dict[tuple[tuple[str, ...], bool], list[tuple[Any, ...]]] = defaultdict(list)
    for key in dict.fromkeys([*patches, *firsts]):
        patch, seen = patches.get(key, {}), firsts.get(key)
        values = (*patch.values(), *((seen.get(stage) for stage in REACHED) if seen is not None else ()))
        by_columns[(tuple(patch), seen is not None)].append((*values, *key))
    for (names, with_firsts), params in by_columns.items():
        columns = [(name, COLUMN_TYPES[name]) for name in names]
        sets = [SQL("{0} = u.{0}").format(Identifier(name)) for name in names]
        if with_firsts:
            columns += FIRSTS
            sets += [SQL("{0} = LEAST(t.{0}, u.{0})").format(Identifier(name)) for name, _ in FIRSTS]
        update_rows(cur, "step_executions", columns, ROW_KEY, params, assign=SQL(", ").join(sets))


def executions(
    db: Database,
    campaign_id: UUID,
    status: str | None,
    contact_id: UUID | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the campaign's executions, by enrollment time then contact and step; the caller
    has checked the campaign is the brand's. InvalidCursor for a cursor not handed out."""
    rows = db.fetch_all(EXECUTIONS_PAGE, executions_params(campaign_id, status, contact_id, limit, cursor))
    return page(rows, limit)


# One contact's rows are one enrollment's (its id is derived from campaign and contact), found by
# the primary key; without a contact, the campaign's rows in page order (step_executions_campaign).
# A row's paging key `id` is `<enrollment id>/<step id>`, made here rather than stored (it would
# repeat 74 bytes in every row and index entry): pages go by (created_at, enrollment_id, step_id).
EXECUTIONS_PAGE = """SELECT *, enrollment_id::text || '/' || step_id AS id FROM step_executions
    WHERE campaign_id = %(campaign)s AND (%(status)s::text IS NULL OR status = %(status)s)
      AND (%(contact)s::uuid IS NULL OR enrollment_id = %(enrollment)s)
      AND (%(after_at)s::timestamptz IS NULL OR (created_at, enrollment_id, step_id)
           > (%(after_at)s::timestamptz, %(after_enrollment)s::uuid, %(after_step)s::text))
    ORDER BY created_at, enrollment_id, step_id LIMIT %(limit)s"""


def executions_params(
    campaign_id: UUID, status: str | None, contact_id: UUID | None, limit: int, cursor: str | None
) -> dict[str, Any]:
    """The parameters of EXECUTIONS_PAGE for one page; InvalidCursor for a cursor not handed out."""
    enrollment_id = Enrollment.create_id(campaign_id, contact_id) if contact_id else None
    position = cursor_params(cursor, uuid_key=False)
    after_enrollment, after_step = _row_key(position["after_key"])
    return {
        "campaign": campaign_id,
        "status": status,
        "contact": contact_id,
        "enrollment": enrollment_id,
        "limit": limit + 1,
        "after_at": position["after_at"],
        "after_enrollment": after_enrollment,
        "after_step": after_step,
    }


def _row_key(key: str | None) -> tuple[UUID | None, str | None]:
    """A cursor's `<enrollment id>/<step id>`; InvalidCursor for any other text."""
    if key is None:
        return None, None
    enrollment, slash, step = key.partition("/")
    try:
        if not slash or len(enrollment) != 36:
            raise ValueError(key)
        return UUID(enrollment), step
    except ValueError as bad:
        raise InvalidCursor("the cursor is not one this API handed out") from bad
