"""The consent audit of one brand, from raw stored events only (never from a read model or a table).

Finds the brand's aggregates in the event store (its ledger, its addresses' AddressConsent, the
enrollments of its contacts), checks each one's hash chain against its stored rows, then hands the
events that tell who could be reached when, and every send, in log order, to the rules of
projections/history/consent_rules.py. Aggregates are read in chunks and only those events are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.utils import get_topic

from domain.address_consent import AddressConsent
from domain.credit_ledger import CreditLedger
from domain.enrollment import Enrollment
from projections.history.brand_streams import owned, verified_history
from projections.history.consent_rules import CONSENT_EVENTS, ConsentAudit, audit_consent
from storage.event_chain import ChainBreak
from storage.stored_events import events_table


@dataclass
class ConsentReport:
    brand_id: UUID
    consent: ConsentAudit
    chain_break: ChainBreak | None
    aggregates: int
    stored_events: int


def audit_brand_consent(
    store: Application[UUID], conn: psycopg.Connection[Any], brand_id: UUID
) -> ConsentReport:
    """LookupError when the store holds no ledger for the brand (no such brand)."""
    table = events_table(store)
    addresses = owned(conn, table, get_topic(AddressConsent.ConsentOpened), brand_id)
    enrollments = owned(conn, table, get_topic(Enrollment.ContactEnrolled), brand_id)
    wanted = {get_topic(cls) for cls in CONSENT_EVENTS}
    ledger_id = CreditLedger.create_id(brand_id)
    read = verified_history(store, conn, table, ledger_id, [*addresses, *enrollments], wanted)
    if read.chain_break is not None:
        return ConsentReport(brand_id, ConsentAudit(), read.chain_break, read.aggregates, read.stored_events)
    if not read.ledger_found:
        raise LookupError(f"no brand {brand_id} in the event store (it has no ledger)")
    consent = audit_consent(brand_id, read.events)
    return ConsentReport(brand_id, consent, None, read.aggregates, read.stored_events)
