"""A campaign's steps as they stood at any moment, rebuilt from its enrollments' events: the funnel
of each step and its StepExecutions, and the campaign's own milestones (for the console).

The funnel counts, per planned step, the contacts enrolled in it and those it was sent to,
delivered to, opened and clicked by, replied from, bounced for and unsubscribed by, from the events
at or before the moment (all of them when no moment is given), so the funnel now and the funnel
as of a past moment are the same computation. The executions as of a moment fold the same events
into rows with the StepExecutions read model's own patches (projections/step_executions.py), so a
row then reads as the read model's row read then would have. The enrollments are those the
campaign's launch took (`launch_audiences`), as in projections/campaign_history.py.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.utils import get_topic
from psycopg import sql

from domain.campaign import Campaign
from domain.enrollment import Enrollment, StepStatus, is_unsubscribe
from projections.step_executions import StepExecutions
from projections.step_executions import _patch as step_patch
from storage.database import Database
from storage.event_log import events_table, to_event

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
    app: Application[UUID], db: Database, originators: list[UUID], classes: Sequence[type]
) -> list[Any]:
    """The events of these aggregates of the given classes, each aggregate's in order."""
    if not originators:
        return []
    query = sql.SQL(
        """SELECT originator_id, originator_version, topic, state FROM {events}
           WHERE originator_id = ANY(%(ids)s) AND topic = ANY(%(topics)s)
           ORDER BY originator_id, originator_version"""
    ).format(events=events_table(app))
    rows = db.fetch_all(query, {"ids": originators, "topics": [get_topic(cls) for cls in classes]})
    return [to_event(app, row) for row in rows]


def _enrollments(db: Database, campaign_id: UUID) -> list[UUID]:
    contacts = db.fetch_all("SELECT contact_id FROM launch_audiences WHERE campaign_id = %s", (campaign_id,))
    return [Enrollment.create_id(campaign_id, row["contact_id"]) for row in contacts]


def _until(events: list[Any], moment: datetime | None) -> list[Any]:
    return events if moment is None else [e for e in events if e.timestamp <= moment]


def step_funnels(
    app: Application[UUID], db: Database, campaign_id: UUID, moment: datetime | None = None
) -> dict[str, dict[str, int]]:
    """Each planned step's funnel (`FUNNEL`'s counts) at `moment` (None: now), by step id."""
    funnels: dict[str, Counter[str]] = defaultdict(Counter)
    for event in _until(_events(app, db, _enrollments(db, campaign_id), FUNNEL_EVENTS), moment):
        if isinstance(event, Enrollment.ContactEnrolled):
            for step in event.plan:
                if step["type"] != "WAIT":
                    funnels[step["id"]]["enrolled"] += 1
        elif isinstance(event, Enrollment.StepWithdrawn):
            if is_unsubscribe(event.reason):
                funnels[event.step_id]["unsubscribed"] += 1
        elif getattr(event, "step_id", None) is not None:
            funnels[event.step_id][FUNNEL_MOVES[type(event)]] += 1
    return {step_id: {name: counts[name] for name in FUNNEL} for step_id, counts in funnels.items()}


def executions_as_of(
    app: Application[UUID], db: Database, campaign_id: UUID, moment: datetime
) -> list[dict[str, Any]]:
    """The campaign's StepExecutions rows as they stood at `moment`, by enrollment time, contact, step."""
    rows: dict[tuple[UUID, str], dict[str, Any]] = {}
    due: dict[tuple[UUID, int], datetime] = {}
    events = _until(_events(app, db, _enrollments(db, campaign_id), StepExecutions.events), moment)
    for event in events:
        if isinstance(event, Enrollment.ContactEnrolled):
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
        elif isinstance(event, Enrollment.GroupScheduled):
            due[(event.originator_id, event.group)] = event.due_at
        elif isinstance(event, Enrollment.StepSent) and event.next_group is not None and event.next_due_at:
            due[(event.originator_id, event.next_group)] = event.next_due_at
            sent = rows.get((event.originator_id, event.step_id))
            if sent is not None:
                sent.update(step_patch(event))
        elif isinstance(event, Enrollment.ContactReplied) and event.step_id is None:
            continue
        else:
            row = rows.get((event.originator_id, event.step_id))
            if row is not None:
                row.update(step_patch(event))
    for row in rows.values():
        row["scheduled_for"] = row.get("scheduled_for") or due.get((row["enrollment_id"], row["step_group"]))
    return sorted(rows.values(), key=lambda row: (row["created_at"], row["id"]))


def milestones(app: Application[UUID], db: Database, campaign_id: UUID) -> list[tuple[str, datetime]]:
    """The campaign's own changes, each named (created, launched, paused, ...) with its time, in order."""
    return [
        (MILESTONES[type(event)], event.timestamp)
        for event in _events(app, db, [campaign_id], tuple(MILESTONES))
    ]
