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
from eventsourcing.utils import get_topic

from domain.campaign import Campaign
from domain.credit_ledger import CreditLedger
from domain.enrollment import Enrollment
from projections.history.brand_streams import owned, verified_history
from projections.history.ledger_audit import Audit, audit_ledger
from storage.event_chain import ChainBreak
from storage.stored_events import events_table

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
    campaigns = owned(conn, table, get_topic(Campaign.CampaignCreated), brand_id)
    enrollments = owned(conn, table, get_topic(Enrollment.ContactEnrolled), brand_id)
    wanted = {get_topic(cls) for cls in (*CREDIT_EVENTS, Enrollment.ContactEnrolled)}
    ledger_id = CreditLedger.create_id(brand_id)
    read = verified_history(store, conn, table, ledger_id, [*campaigns, *enrollments], wanted)
    if read.chain_break is not None:
        return CreditAudit(brand_id, Audit(), read.chain_break, read.aggregates, read.stored_events)
    if not read.ledger_found:
        raise LookupError(f"no credit ledger for brand {brand_id}")
    contacts: dict[UUID, UUID] = {}
    enrolled_in: dict[UUID, UUID] = {}
    credit_events: list[tuple[int, Any]] = []
    for position, event in read.events:
        if isinstance(event, Enrollment.ContactEnrolled):
            contacts[event.originator_id] = event.contact_id
            enrolled_in[event.originator_id] = event.campaign_id
        else:
            credit_events.append((position, event))
    ledger = audit_ledger(credit_events, contacts, enrolled_in)
    return CreditAudit(brand_id, ledger, None, read.aggregates, read.stored_events)
