"""A campaign's steps as they stood at any moment, rebuilt from its enrollments' events: the funnel
of each step and its StepExecutions, and the campaign's own milestones (for the console).

The funnel counts, per planned step, the contacts enrolled in it and those it was sent to,
delivered to, opened and clicked by, replied from, bounced for and unsubscribed by. Now, it is one
grouped query of the StepExecutions read model (and the StepClicked events, which that model does
not hold, when the campaign has clicks); as of a moment, it is counted from the events at or
before it, in the same pass that folds them into StepExecutions rows with the read model's own
patches (projections/step_executions.py), so a row then reads as the read model's row read then
would have. The enrollments are those the
campaign's launch took (`launch_audiences`), as in projections/campaign_history.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.utils import get_topic
from psycopg import sql

from domain.campaign import Campaign
from domain.enrollment import Enrollment, StepStatus
from domain.withdrawal import ONE_CLICK_WORDS, STOP_KEYWORD_WORDS
from projections.step_executions import StepExecutions
from projections.step_executions import _patch as step_patch
from storage.database import Database
from storage.event_log import events_table, to_event

CHUNK = 2_000  # aggregates whose events are read together
FUNNEL = ("enrolled", "sent", "delivered", "opened", "clicked", "replied", "bounced", "unsubscribed")
MILESTONES: dict[type, str] = {
    Campaign.CampaignCreated: "created",
    Campaign.CampaignLaunched: "launched",
    Campaign.CampaignPaused: "paused",
    Campaign.CampaignResumed: "resumed",
    Campaign.CampaignCompleted: "completed",
    Campaign.CampaignArchived: "archived",
}
FUNNEL_EVENTS = (
    Enrollment.ContactEnrolled,
    Enrollment.StepSent,
    Enrollment.StepDelivered,
    Enrollment.StepOpened,
    Enrollment.StepClicked,
    Enrollment.ContactReplied,
    Enrollment.StepUndelivered,
    Enrollment.StepWithdrawn,
)
FUNNEL_MOVES: dict[type, str] = {
    Enrollment.StepSent: "sent",
    Enrollment.StepDelivered: "delivered",
    Enrollment.StepOpened: "opened",
    Enrollment.StepClicked: "clicked",
    Enrollment.ContactReplied: "replied",
    Enrollment.StepUndelivered: "bounced",
}


def _events(
    store: Application[UUID], db: Database, originators: list[UUID], classes: Sequence[type]
) -> Iterator[Any]:
    """The events of these aggregates of the given classes, each aggregate's in order; read
    `CHUNK` aggregates at a time, so a campaign of 100,000 contacts is never held whole."""
    query = sql.SQL(
        """SELECT originator_id, originator_version, topic, state FROM {events}
           WHERE originator_id = ANY(%(ids)s) AND topic = ANY(%(topics)s)
           ORDER BY originator_id, originator_version"""
    ).format(events=events_table(store))
    topics = [get_topic(cls) for cls in classes]
    for start in range(0, len(originators), CHUNK):
        rows = db.fetch_all(query, {"ids": originators[start : start + CHUNK], "topics": topics})
        for row in rows:
            yield to_event(store, row)


def _enrollments(db: Database, campaign_id: UUID) -> list[UUID]:
    contacts = db.fetch_all("SELECT contact_id FROM launch_audiences WHERE campaign_id = %s", (campaign_id,))
    return [Enrollment.create_id(campaign_id, row["contact_id"]) for row in contacts]


def steps_as_of(
    store: Application[UUID], db: Database, campaign_id: UUID, moment: datetime
) -> tuple[dict[str, dict[str, int]], list[dict[str, Any]]]:
    """Each planned step's funnel (`FUNNEL`'s counts, by step id) and the StepExecutions rows (by
    enrollment time, contact, step) as they stood at `moment`, from one pass over the events."""
    funnels: dict[str, dict[str, set[UUID]]] = defaultdict(lambda: defaultdict(set))
    rows: dict[tuple[UUID, str], dict[str, Any]] = {}
    due: dict[tuple[UUID, int], datetime] = {}
    classes = tuple(dict.fromkeys((*FUNNEL_EVENTS, *StepExecutions.events)))
    for event in _events(store, db, _enrollments(db, campaign_id), classes):
        if event.timestamp > moment:
            continue
        _count(event, funnels)
        if isinstance(event, Enrollment.ContactEnrolled):
            _enrolled_rows(event, rows, due)
        elif isinstance(event, Enrollment.GroupScheduled):
            due[(event.originator_id, event.group)] = event.due_at
        elif isinstance(event, Enrollment.StepClicked):
            continue  # counted in the funnel; the read model's rows hold no click
        elif isinstance(event, Enrollment.ContactReplied) and event.step_id is None:
            continue
        else:
            if isinstance(event, Enrollment.StepSent) and event.next_group is not None and event.next_due_at:
                due[(event.originator_id, event.next_group)] = event.next_due_at
            row = rows.get((event.originator_id, event.step_id))
            if row is not None:
                row.update(step_patch(event))
    for row in rows.values():
        row["scheduled_for"] = row.get("scheduled_for") or due.get((row["enrollment_id"], row["step_group"]))
    shown = {step_id: {name: len(reached[name]) for name in FUNNEL} for step_id, reached in funnels.items()}
    return shown, sorted(rows.values(), key=lambda row: (row["created_at"], row["id"]))


def _count(event: Any, funnels: dict[str, dict[str, set[UUID]]]) -> None:
    """The funnel stage one event takes its contact to, if any (a contact counts once a stage)."""
    if isinstance(event, Enrollment.ContactEnrolled):
        for step in event.plan:
            if step["type"] != "WAIT":
                funnels[step["id"]]["enrolled"].add(event.originator_id)
    elif isinstance(event, Enrollment.StepWithdrawn):
        if event.withdrawal_cause.is_unsubscribe:
            funnels[event.step_id]["unsubscribed"].add(event.originator_id)
    elif type(event) in FUNNEL_MOVES and getattr(event, "step_id", None) is not None:
        funnels[event.step_id][FUNNEL_MOVES[type(event)]].add(event.originator_id)


def _enrolled_rows(
    event: Any, rows: dict[tuple[UUID, str], dict[str, Any]], due: dict[tuple[UUID, int], datetime]
) -> None:
    """The rows of a contact just enrolled: pending, or dispatched with the enrolment."""
    sent_off = {step["step_id"] for step in event.dispatched or ()}
    for step in event.plan:
        if step["type"] == "WAIT":
            continue
        status = StepStatus.DISPATCHED if step["id"] in sent_off else StepStatus.PENDING
        rows[(event.originator_id, step["id"])] = {
            "id": f"{event.originator_id}/{step['id']}",
            "enrollment_id": event.originator_id,
            "step_id": step["id"],
            "contact_id": event.contact_id,
            "type": step["type"],
            "step_group": step["group"],
            "status": status.value,
            "created_at": event.timestamp,
            "sent_at": None,
            "error": None,
        }
    if event.group is not None and event.due_at is not None:
        due[(event.originator_id, event.group)] = event.due_at


def step_funnels_now(
    store: Application[UUID], db: Database, campaign_id: UUID, clicked: int
) -> dict[str, dict[str, int]]:
    """Each planned step's funnel now, from the StepExecutions read model (one grouped query); its
    clicks, which that model does not hold, from the campaign's StepClicked events, read only when
    the campaign has any (`clicked`, the campaign summary's count)."""
    rows = db.fetch_all(
        """SELECT step_id, count(*) AS enrolled, count(sent_at) AS sent,
                  count(*) FILTER (WHERE status = 'delivered') AS delivered,
                  count(opened_at) AS opened, count(replied_at) AS replied,
                  count(*) FILTER (WHERE status = 'undelivered') AS bounced,
                  count(*) FILTER (WHERE status = 'withdrawn'
                                   AND (strpos(error, %(one_click)s) > 0 OR strpos(error, %(stop)s) > 0))
                      AS unsubscribed
           FROM step_executions WHERE campaign_id = %(campaign)s GROUP BY step_id""",
        {"campaign": campaign_id, "one_click": ONE_CLICK_WORDS, "stop": STOP_KEYWORD_WORDS},
    )
    funnels = {row["step_id"]: {name: int(row.get(name) or 0) for name in FUNNEL} for row in rows}
    if clicked:  # a step records its first click only: one event per contact and step
        for event in _events(store, db, _enrollments(db, campaign_id), (Enrollment.StepClicked,)):
            funnels.setdefault(event.step_id, dict.fromkeys(FUNNEL, 0))["clicked"] += 1
    return funnels


def milestones(store: Application[UUID], db: Database, campaign_id: UUID) -> list[tuple[str, datetime]]:
    """The campaign's own changes, each named (created, launched, paused, ...) with its time, in order."""
    return [
        (MILESTONES[type(event)], event.timestamp)
        for event in _events(store, db, [campaign_id], tuple(MILESTONES))
    ]
