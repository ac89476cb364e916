"""What a CreditLedger records: every grant, reservation, consumption and release carries its amount,
its reason and its time, which the credit history shows to the brand, and the settlement position
it has applied; a refused command says why in the words the client sees.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from domain.credit_ledger import CreditLedger, Plan
from domain.errors import DomainError
from storage.compact_states import expanded
from tests.unit.messages import exactly

T0 = datetime(2025, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
CAMPAIGN = UUID(int=7)


def fields(event, *names: str) -> dict:
    return {name: getattr(event, name) for name in names}


def reserved_ledger(amount: int = 100) -> CreditLedger:
    ledger = CreditLedger.open(uuid4(), Plan.STANDARD, opened_at=T0)
    ledger.reserve(CAMPAIGN, amount, reserved_at=T0 + HOUR)
    ledger.collect_events()
    return ledger


def test_opening_a_ledger_records_the_plan_grant_at_the_opening_time() -> None:
    brand = uuid4()
    ledger = CreditLedger.open(brand, Plan.PREMIUM, opened_at=T0)
    opened, granted = ledger.collect_events()
    assert isinstance(opened, CreditLedger.LedgerOpened)
    assert (opened.brand_id, opened.plan, opened.originator_id) == (brand, "premium", ledger.id)
    assert isinstance(granted, CreditLedger.CreditsGranted)
    assert fields(granted, "amount", "reason", "granted_at") == {
        "amount": 100_000,
        "reason": "plan premium",
        "granted_at": T0,
    }


def test_a_grant_records_its_amount_reason_and_time() -> None:
    ledger = reserved_ledger()
    ledger.grant(250, reason="top-up by support", granted_at=T0 + 2 * HOUR)
    [event] = ledger.collect_events()
    assert fields(event, "amount", "reason", "granted_at") == {
        "amount": 250,
        "reason": "top-up by support",
        "granted_at": T0 + 2 * HOUR,
    }


def test_a_reservation_records_the_campaign_amount_and_time() -> None:
    ledger = CreditLedger.open(uuid4(), Plan.BASIC, opened_at=T0)
    ledger.collect_events()
    ledger.reserve(CAMPAIGN, 0, reserved_at=T0 + HOUR)  # a campaign with nobody to send to reserves nothing
    [event] = ledger.collect_events()
    assert isinstance(event, CreditLedger.CreditsReserved)
    assert fields(event, "campaign_id", "amount", "reserved_at") == {
        "campaign_id": CAMPAIGN,
        "amount": 0,
        "reserved_at": T0 + HOUR,
    }


def test_a_consumption_records_the_campaign_amount_time_and_settled_position() -> None:
    ledger = reserved_ledger()
    ledger.consume(CAMPAIGN, 30, consumed_at=T0 + 2 * HOUR, settled_through=41)
    [event] = ledger.collect_events()
    assert isinstance(event, CreditLedger.CreditsConsumed)
    assert fields(event, "campaign_id", "amount", "consumed_at", "settled_through") == {
        "campaign_id": CAMPAIGN,
        "amount": 30,
        "consumed_at": T0 + 2 * HOUR,
        "settled_through": 41,
    }
    assert ledger.settled_through == 41


def test_a_release_records_the_campaign_amount_reason_time_and_settled_position() -> None:
    ledger = reserved_ledger()
    ledger.release(CAMPAIGN, 70, reason="campaign completed", released_at=T0 + 3 * HOUR, settled_through=9)
    [event] = ledger.collect_events()
    assert isinstance(event, CreditLedger.CreditsReleased)
    assert fields(event, "campaign_id", "amount", "reason", "released_at", "settled_through") == {
        "campaign_id": CAMPAIGN,
        "amount": 70,
        "reason": "campaign completed",
        "released_at": T0 + 3 * HOUR,
        "settled_through": 9,
    }


def test_a_settlement_outside_the_settlement_process_claims_no_log_position() -> None:
    ledger = reserved_ledger()
    ledger.consume(CAMPAIGN, 10, consumed_at=T0)
    ledger.release(CAMPAIGN, 10, reason="refund", released_at=T0)
    consumed, released = ledger.collect_events()
    assert consumed.settled_through == released.settled_through == ledger.settled_through == 0


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (lambda ledger: ledger.reserve(uuid4(), -1, reserved_at=T0), "a reservation cannot be negative"),
        (
            lambda ledger: ledger.reserve(CAMPAIGN, 1, reserved_at=T0),
            f"campaign {CAMPAIGN} already holds a reservation",
        ),
        (
            lambda ledger: ledger.consume(CAMPAIGN, 101, consumed_at=T0),
            f"campaign {CAMPAIGN} has 100 credits outstanding, not 101",
        ),
        (
            lambda ledger: ledger.release(UUID(int=8), 1, reason="x", released_at=T0),
            f"campaign {UUID(int=8)} has 0 credits outstanding, not 1",
        ),
        (lambda ledger: ledger.grant(0, reason="x", granted_at=T0), "an amount of credits must be positive"),
        (
            lambda ledger: ledger.consume(CAMPAIGN, -5, consumed_at=T0),
            "an amount of credits must be positive",
        ),
        (
            lambda ledger: ledger.reserve(uuid4(), 9_901, reserved_at=T0),
            "9901 credits are needed, 9900 are available",
        ),
    ],
    ids=[
        "negative reservation",
        "second reservation",
        "over-consume",
        "no reservation",
        "zero grant",
        "negative",
        "short",
    ],
)
def test_a_refused_ledger_command_says_why_and_records_nothing(command, message) -> None:
    ledger = reserved_ledger()
    with pytest.raises(DomainError, match=exactly(message)):
        command(ledger)
    assert ledger.collect_events() == []


def test_a_grant_stored_in_its_v1_shape_reads_back_with_no_reference_and_no_period() -> None:
    from eventsourcing.application import Application

    store: Application[UUID] = Application()
    ledger = CreditLedger.open(uuid4(), Plan.BASIC, opened_at=T0)
    stored = [store.mapper.to_stored_event(event) for event in ledger.collect_events()]
    state = store.mapper.transcoder.decode(expanded(stored[1].state))
    assert state.pop("class_version") == 2
    del state["reference"], state["period"]  # a grant as v1 stored it
    old = type(stored[1])(
        stored[1].originator_id,
        stored[1].originator_version,
        stored[1].topic,
        store.mapper.transcoder.encode(state),
    )
    grant = store.mapper.to_domain_event(old)
    assert isinstance(grant, CreditLedger.CreditsGranted)
    assert (grant.amount, grant.reason, grant.reference, grant.period) == (1_000, "plan basic", None, None)


def test_a_closing_release_records_why_the_campaign_closed_and_when() -> None:
    ledger = reserved_ledger()
    ledger.close(CAMPAIGN, "campaign archived", held=40, closed_at=T0 + 2 * HOUR, settled_through=5)
    [closing] = ledger.collect_events()
    assert fields(closing, "amount", "reason", "released_at", "closes", "held", "settled_through") == {
        "amount": 60,
        "reason": "campaign archived",
        "released_at": T0 + 2 * HOUR,
        "closes": True,
        "held": 40,
        "settled_through": 5,
    }
