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
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from domain.address_consent import AddressConsent
from domain.credit_ledger import CreditLedger
from domain.enrollment import Enrollment
from projections.history.brand_streams import chunks, owned
from projections.history.consent_rules import CONSENT_EVENTS, ConsentAudit, audit_consent
from storage.event_chain import ChainBreak, first_break
from storage.stored_events import aggregate_rows, events_table


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
    ledger_id = CreditLedger.create_id(brand_id)
    addresses = owned(conn, table, get_topic(AddressConsent.ConsentOpened), brand_id)
    enrollments = owned(conn, table, get_topic(Enrollment.ContactEnrolled), brand_id)
    wanted = {get_topic(cls) for cls in CONSENT_EVENTS}
    events: list[tuple[int, Any]] = []
    stored = 0
    found_ledger = False
    for chunk in chunks([ledger_id, *addresses, *enrollments]):
        rows = aggregate_rows(conn, table, chunk)
        broken = first_break(rows)
        if broken is not None:
            return ConsentReport(brand_id, ConsentAudit(), broken, len(chunk), stored)
        for position, aggregate_id, version, topic, state, _ in rows:
            stored += 1
            found_ledger = found_ledger or aggregate_id == ledger_id
            if topic not in wanted:
                continue
            event = store.mapper.to_domain_event(
                StoredEvent(aggregate_id, version, topic or "", state or b"")
            )
            events.append((position or 0, event))
    if not found_ledger:
        raise LookupError(f"no brand {brand_id} in the event store (it has no ledger)")
    events.sort(key=lambda item: item[0])
    consent = audit_consent(brand_id, events)
    return ConsentReport(brand_id, consent, None, 1 + len(addresses) + len(enrollments), stored)
