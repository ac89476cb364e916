"""The credit audit of one brand, from raw stored events only (never from a read model).

Finds the brand's aggregates in the event store (its ledger, the campaigns it created, the
enrollments of its contacts), checks each one's hash chain against its stored rows, then hands
the events that move credits, in log order, to the rules of projections/history/ledger_audit.py.
Aggregates are read in chunks and only credit events are kept, so a brand with many enrollments
is audited without holding its whole history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from domain.campaign import Campaign
from domain.credit_ledger import CreditLedger
from domain.enrollment import Enrollment
from projections.history.brand_streams import chunks, owned
from projections.history.ledger_audit import Audit, audit_ledger
from storage.event_chain import ChainBreak, first_break
from storage.stored_events import aggregate_rows, events_table

CREDIT_EVENTS = (
    CreditLedger.CreditsGranted,
    CreditLedger.CreditsReserved,
    CreditLedger.CreditsConsumed,
    CreditLedger.CreditsReleased,
    Campaign.CampaignCompleted,
    Campaign.CampaignArchived,
    Enrollment.StepAttempted,
    Enrollment.StepSent,
    Enrollment.StepFailed,
    Enrollment.StepWithdrawn,
    Enrollment.StepCancelled,
)


@dataclass
class CreditAudit:
    brand_id: UUID
    ledger: Audit
    chain_break: ChainBreak | None
    aggregates: int
    stored_events: int


def audit_brand(store: Application[UUID], conn: psycopg.Connection[Any], brand_id: UUID) -> CreditAudit:
    """LookupError when the store holds no ledger for the brand."""
    table = events_table(store)
    ledger_id = CreditLedger.create_id(brand_id)
    campaigns = owned(conn, table, get_topic(Campaign.CampaignCreated), brand_id)
    enrollments = owned(conn, table, get_topic(Enrollment.ContactEnrolled), brand_id)
    wanted = {get_topic(cls) for cls in CREDIT_EVENTS}
    enrolled = get_topic(Enrollment.ContactEnrolled)
    credit_events: list[tuple[int, Any]] = []
    contacts: dict[UUID, UUID] = {}
    enrolled_in: dict[UUID, UUID] = {}
    stored = 0
    found_ledger = False
    for chunk in chunks([ledger_id, *campaigns, *enrollments]):
        rows = aggregate_rows(conn, table, chunk)
        broken = first_break(rows)
        if broken is not None:
            return CreditAudit(brand_id, Audit(), broken, len(chunk), stored)
        for position, aggregate_id, version, topic, state, _ in rows:
            stored += 1
            found_ledger = found_ledger or aggregate_id == ledger_id
            if topic not in wanted and topic != enrolled:
                continue
            event: Any = store.mapper.to_domain_event(
                StoredEvent(aggregate_id, version, topic or "", state or b"")
            )
            if topic == enrolled:
                contacts[aggregate_id] = event.contact_id
                enrolled_in[aggregate_id] = event.campaign_id
            else:
                credit_events.append((position or 0, event))
    if not found_ledger:
        raise LookupError(f"no credit ledger for brand {brand_id}")
    credit_events.sort(key=lambda item: item[0])
    ledger = audit_ledger(credit_events, contacts, enrolled_in)
    return CreditAudit(brand_id, ledger, None, 1 + len(campaigns) + len(enrollments), stored)
