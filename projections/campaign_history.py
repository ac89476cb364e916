"""A campaign as it stood at a past moment, rebuilt from events alone (`GET /v1/campaign/{id}?as_of=`).

The campaign's own events recorded up to the moment give its definition and status; its
enrollments' events (the enrollments of the audience its launch took) and its brand's ledger's
settlement events up to then give the metrics and credits, counted as the campaign summaries count
them. The figures are added up from checkpoints a read model writes and the events after them
(projections/campaign_checkpoints.py), which answer exactly what folding every event does, so the
answer does not depend on how far a projection has got: only its cost does.
A moment is compared with each event's own time (its timestamp, the `occurred_at` every read
reports, stamped from the service's clock: domain/event_time.py), inclusively: as of a time a
resource reports, the event that reported it has happened.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import takewhile
from typing import Any
from uuid import UUID

from eventsourcing.application import Application, project_aggregate
from eventsourcing.utils import get_topic
from psycopg import sql

from domain.campaign import Campaign
from domain.credit_ledger import CreditLedger
from domain.enrollment import Enrollment
from projections.campaign_checkpoints import checkpointed_figures
from projections.campaign_summaries import COUNTED_ENROLLMENT_EVENTS, SETTLEMENT_EVENTS, count_execution
from storage.database import Database
from storage.event_log import events_table, to_event


def campaign_as_of(
    store: Application[UUID],
    db: Database,
    brand_id: UUID,
    campaign_id: UUID,
    moment: datetime,
    *,
    fold_every_event: bool = False,
) -> dict[str, Any] | None:
    """The campaign's summary row as of `moment`; None before it was created or if not the brand's.
    Its figures come from the campaign's checkpoints and the log after them, or, when those cannot
    answer or `fold_every_event` says so (the reference the checkpoints are tested against), from
    every counted event of the campaign."""
    history = list(takewhile(lambda e: e.timestamp <= moment, _stream(store, db, [campaign_id])))
    campaign = project_aggregate(None, history)
    if not isinstance(campaign, Campaign) or campaign.brand_id != brand_id:
        return None
    figures = None if fold_every_event else checkpointed_figures(store, db, campaign_id, moment)
    if figures is None:
        figures = folded_figures(store, db, brand_id, campaign_id, moment)
    pause = campaign.current_pause
    return {
        "id": campaign.id,
        "brand_id": campaign.brand_id,
        "name": campaign.name,
        "status": campaign.status.value,
        "audience_type": campaign.audience_type,
        "ai_personalization": campaign.ai_personalization,
        "lead_group_ids": campaign.lead_group_ids,
        "steps": [step.as_dict() for step in campaign.steps],
        "timezone": campaign.timezone,
        "sending_window": campaign.sending_window,
        "created_at": campaign.created_at,
        "launched_at": campaign.launched_at,
        "completed_at": campaign.completed_at,
        "archived_at": campaign.archived_at,
        "pause_by": pause.by.value if pause else None,
        "pause_reason": pause.reason if pause else None,
        "paused_at": pause.at if pause else None,
        **figures,
    }


def folded_figures(
    store: Application[UUID], db: Database, brand_id: UUID, campaign_id: UUID, moment: datetime
) -> dict[str, int]:
    """The campaign's metrics and credits as of `moment`, folded from every counted event of its
    enrollments (those of the audience its launch took, the write side's snapshot, not a read
    model) and every settlement of its brand's ledger."""
    contacts = db.fetch_all("SELECT contact_id FROM launch_audiences WHERE campaign_id = %s", (campaign_id,))
    enrollments = [Enrollment.create_id(campaign_id, row["contact_id"]) for row in contacts]
    counts = _counts(
        e for e in _stream(store, db, enrollments, COUNTED_ENROLLMENT_EVENTS) if e.timestamp <= moment
    )
    ledger = [CreditLedger.create_id(brand_id)]
    settled = Counter[str]()
    for event in _stream(store, db, ledger, SETTLEMENT_EVENTS):
        if event.campaign_id == campaign_id and event.timestamp <= moment:
            settled[type(event).__name__] += event.amount
    return {
        "credits_reserved": settled["CreditsReserved"],
        "credits_consumed": settled["CreditsConsumed"],
        "credits_released": settled["CreditsReleased"],
        **counts,
    }


def _counts(events: Iterable[Any]) -> dict[str, int]:
    counts = Counter({"enrolled": 0, "finished": 0, "failed": 0, "cancelled": 0})
    counts.update({"delivered": 0, "bounced": 0, "replied": 0, "opened": 0, "clicked": 0, "unsubscribed": 0})
    counts.update({"sent_email": 0, "sent_sms": 0, "sent_voicemail": 0})
    for event in events:
        if isinstance(event, Enrollment.ContactEnrolled):
            counts["enrolled"] += 1
        elif isinstance(event, Enrollment.EnrollmentFinished):
            counts["finished"] += 1
        else:
            count_execution(event, counts)
    return dict(counts)


def _stream(
    store: Application[UUID], db: Database, originators: list[UUID], classes: Sequence[type] = ()
) -> list[Any]:
    """The events of these aggregates (only of `classes`, if given), each aggregate's in order."""
    if not originators:
        return []
    query = sql.SQL(
        """SELECT originator_id, originator_version, topic, state FROM {events}
           WHERE originator_id = ANY(%(ids)s) AND (%(all)s OR topic = ANY(%(topics)s))
           ORDER BY originator_id, originator_version"""
    ).format(events=events_table(store))
    topics = [get_topic(cls) for cls in classes]
    rows = db.fetch_all(query, {"ids": originators, "all": not classes, "topics": topics})
    return [to_event(store, row) for row in rows]
