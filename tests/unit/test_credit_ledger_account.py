"""A brand's account on its CreditLedger (decision record 0017): a purchase grants 1 to 10,000,000
credits once per reference; each monthly period grants the plan in force at its renewal moment,
once; a plan change names who and when and counts from the next renewal; a suspension needs a
reason and is lifted by a reinstatement, each naming who and when. Each event is what the credit
history and the audit show, and the ledger replays to the same account.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application

from domain.credit_ledger import MAX_PURCHASE, CreditLedger, Plan, Purchase
from domain.errors import InvalidInput
from tests.unit.messages import exactly

T0 = datetime(2025, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)
APRIL, MAY = datetime(2025, 4, 1, tzinfo=UTC), datetime(2025, 5, 1, tzinfo=UTC)


def ledger_on(plan: Plan = Plan.BASIC) -> CreditLedger:
    ledger = CreditLedger.open(uuid4(), plan, opened_at=T0)
    ledger.collect_events()
    return ledger


def replayed(ledger: CreditLedger, app: Application[UUID] | None = None) -> CreditLedger:
    """The ledger as read back after saving its new events (into `app`, or a new store)."""
    app = app or Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.save(ledger)
    copy: CreditLedger = app.repository.get(ledger.id)
    return copy


def test_a_new_ledger_is_in_good_standing_on_its_opening_plan_with_its_first_period_granted() -> None:
    ledger = CreditLedger.open(uuid4(), Plan.STANDARD, opened_at=datetime(2025, 3, 31, 23, tzinfo=UTC))
    assert (ledger.plan, ledger.opening_plan, ledger.plan_changes) == (Plan.STANDARD, Plan.STANDARD, [])
    assert (ledger.suspended, ledger.suspension_reason, ledger.suspended_since) == (False, None, None)
    assert (ledger.periods, ledger.purchases, ledger.settled_through) == ({"2025-03"}, {}, 0)
    _, granted = ledger.collect_events()
    assert (granted.reference, granted.period) == (None, "2025-03")


# Purchases.


def test_a_purchase_grants_its_credits_and_records_its_reference_reason_and_time() -> None:
    ledger = ledger_on()
    bought = ledger.purchase(2_500, "inv-7", "invoice 7 paid", T0 + DAY)
    assert bought == Purchase("inv-7", 2_500, "invoice 7 paid", T0 + DAY)
    assert ledger.purchases == {"inv-7": bought}
    assert (ledger.granted, ledger.balance) == (3_500, 3_500)
    [granted] = ledger.collect_events()
    assert isinstance(granted, CreditLedger.CreditsGranted)
    assert (granted.amount, granted.reason, granted.granted_at, granted.reference, granted.period) == (
        2_500,
        "invoice 7 paid",
        T0 + DAY,
        "inv-7",
        None,
    )
    assert ledger.periods == {"2025-03"}  # a purchase opens no plan period


def test_a_repeated_purchase_records_nothing() -> None:
    ledger = ledger_on()
    ledger.purchase(2_500, "inv-7", "invoice 7 paid", T0)
    ledger.collect_events()
    assert ledger.purchase(1, "inv-7", "again", T0 + DAY) == Purchase("inv-7", 2_500, "invoice 7 paid", T0)
    assert ledger.collect_events() == [] and ledger.balance == 3_500


@pytest.mark.parametrize("amount", [1, MAX_PURCHASE])
def test_a_purchase_of_one_credit_or_of_ten_million_is_granted(amount: int) -> None:
    ledger = ledger_on()
    assert ledger.purchase(amount, "inv-1", "purchase", T0).amount == amount
    assert ledger.balance == 1_000 + amount


@pytest.mark.parametrize("amount", [0, MAX_PURCHASE + 1])
def test_a_purchase_of_zero_or_of_more_than_ten_million_credits_is_refused_saying_why(amount: int) -> None:
    ledger = ledger_on()
    message = f"a purchase is 1 to 10,000,000 credits, not {amount}"
    with pytest.raises(InvalidInput, match=exactly(message)) as refused:
        ledger.purchase(amount, "inv-1", "purchase", T0)
    assert refused.value.errors == [{"field": "amount", "error": "must be 1..10000000"}]
    assert ledger.collect_events() == [] and ledger.purchases == {}


@pytest.mark.parametrize("reference", ["", "  "])
def test_a_purchase_without_a_reference_is_refused(reference: str) -> None:
    ledger = ledger_on()
    with pytest.raises(InvalidInput, match=exactly("a purchase needs a reference")) as refused:
        ledger.purchase(100, reference, "purchase", T0)
    assert refused.value.errors == [{"field": "reference", "error": "empty"}]
    assert ledger.collect_events() == [] and ledger.balance == 1_000


# Renewals and plan changes.


def test_a_renewal_grants_the_plans_credits_for_its_period_at_the_renewal_moment() -> None:
    ledger = ledger_on(Plan.STANDARD)
    assert ledger.renew(APRIL) is True
    assert ledger.renew(APRIL + DAY) is False  # the same period
    assert (ledger.granted, ledger.balance, ledger.periods) == (20_000, 20_000, {"2025-03", "2025-04"})
    [granted] = ledger.collect_events()
    assert (granted.amount, granted.reason, granted.granted_at, granted.reference, granted.period) == (
        10_000,
        "plan standard 2025-04",
        APRIL,
        None,
        "2025-04",
    )
    assert ledger.purchases == {}


def test_a_renewal_at_the_opening_period_grants_nothing() -> None:
    ledger = ledger_on()
    assert ledger.renew(T0 + DAY) is False
    assert ledger.collect_events() == [] and ledger.balance == 1_000


def test_a_plan_change_records_the_plan_before_and_after_who_and_when_and_grants_nothing() -> None:
    ledger = ledger_on()
    assert ledger.change_plan(Plan.PREMIUM, "cli: ops", T0 + DAY) is True
    assert ledger.plan is Plan.PREMIUM and ledger.balance == 1_000
    assert ledger.plan_changes == [(T0 + DAY, Plan.PREMIUM)]
    [changed] = ledger.collect_events()
    assert isinstance(changed, CreditLedger.PlanChanged)
    assert (changed.plan, changed.previous_plan, changed.changed_by, changed.changed_at) == (
        "premium",
        "basic",
        "cli: ops",
        T0 + DAY,
    )
    assert changed.timestamp == T0 + DAY


def test_choosing_the_plan_already_in_force_records_nothing() -> None:
    ledger = ledger_on(Plan.STANDARD)
    assert ledger.change_plan(Plan.STANDARD, "cli: ops", T0 + DAY) is False
    assert ledger.collect_events() == [] and ledger.plan_changes == []


def test_a_plan_change_at_the_renewal_moment_counts_for_that_renewal() -> None:
    ledger = ledger_on()
    ledger.change_plan(Plan.STANDARD, "cli: ops", APRIL)
    assert ledger.plan_at(APRIL - timedelta(microseconds=1)) is Plan.BASIC
    assert ledger.plan_at(APRIL) is Plan.STANDARD
    ledger.renew(APRIL)
    assert ledger.balance == 11_000


def test_the_plan_in_force_follows_each_change_in_turn() -> None:
    ledger = ledger_on()
    ledger.change_plan(Plan.PREMIUM, "cli: ops", T0 + DAY)
    ledger.change_plan(Plan.STANDARD, "cli: ops", T0 + 2 * DAY)
    assert [ledger.plan_at(T0 + n * DAY) for n in range(3)] == [Plan.BASIC, Plan.PREMIUM, Plan.STANDARD]
    *_, back = ledger.collect_events()
    assert (back.plan, back.previous_plan) == ("standard", "premium")
    ledger.renew(APRIL)
    assert ledger.balance == 11_000


def test_renewals_owed_from_before_a_change_are_granted_at_the_old_plan() -> None:
    ledger = ledger_on()
    ledger.change_plan(Plan.PREMIUM, "cli: ops", APRIL + DAY)
    assert ledger.renew(APRIL) and ledger.renew(MAY)
    grants = [
        (g.amount, g.reason) for g in ledger.collect_events() if isinstance(g, CreditLedger.CreditsGranted)
    ]
    assert grants == [(1_000, "plan basic 2025-04"), (100_000, "plan premium 2025-05")]


def test_a_plan_change_and_the_periods_granted_survive_a_replay() -> None:
    ledger = CreditLedger.open(uuid4(), Plan.BASIC, opened_at=T0)
    ledger.change_plan(Plan.PREMIUM, "cli: ops", T0 + DAY)
    ledger.renew(APRIL)
    ledger.purchase(5, "inv-1", "purchase", APRIL)
    copy = replayed(ledger)
    assert (copy.plan, copy.opening_plan, copy.plan_changes) == (
        Plan.PREMIUM,
        Plan.BASIC,
        [(T0 + DAY, Plan.PREMIUM)],
    )
    assert (copy.periods, copy.purchases, copy.granted) == ({"2025-03", "2025-04"}, ledger.purchases, 101_005)


# Standing: suspension and reinstatement.


def test_a_suspension_records_who_why_and_since_when() -> None:
    ledger = ledger_on()
    assert ledger.suspend("unpaid invoice", "admin api: ana", T0 + DAY) is True
    assert (ledger.suspended, ledger.suspension_reason, ledger.suspended_since) == (
        True,
        "unpaid invoice",
        T0 + DAY,
    )
    [suspended] = ledger.collect_events()
    assert isinstance(suspended, CreditLedger.BrandSuspended)
    assert (suspended.reason, suspended.suspended_by, suspended.suspended_at, suspended.timestamp) == (
        "unpaid invoice",
        "admin api: ana",
        T0 + DAY,
        T0 + DAY,
    )


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_suspension_without_a_reason_is_refused_saying_why(reason: str) -> None:
    ledger = ledger_on()
    with pytest.raises(InvalidInput, match=exactly("a suspension needs a reason")) as refused:
        ledger.suspend(reason, "cli: ops", T0)
    assert refused.value.errors == [{"field": "reason", "error": "empty"}]
    assert not ledger.suspended and ledger.collect_events() == []


def test_suspending_a_suspended_brand_again_keeps_the_first_reason_and_time() -> None:
    ledger = ledger_on()
    ledger.suspend("unpaid invoice", "cli: ops", T0)
    ledger.collect_events()
    assert ledger.suspend("spam complaints", "cli: ops", T0 + DAY) is False
    assert (ledger.suspension_reason, ledger.suspended_since) == ("unpaid invoice", T0)
    assert ledger.collect_events() == []


def test_a_suspension_without_a_reason_is_refused_even_when_suspended_already() -> None:
    ledger = ledger_on()
    ledger.suspend("unpaid invoice", "cli: ops", T0)
    with pytest.raises(InvalidInput):
        ledger.suspend(" ", "cli: ops", T0 + DAY)


def test_a_reinstatement_lifts_the_suspension_and_records_who_and_when() -> None:
    ledger = ledger_on()
    ledger.suspend("unpaid invoice", "cli: ops", T0)
    ledger.collect_events()
    assert ledger.reinstate("admin api: ana", T0 + DAY) is True
    assert (ledger.suspended, ledger.suspension_reason, ledger.suspended_since) == (False, None, None)
    [reinstated] = ledger.collect_events()
    assert isinstance(reinstated, CreditLedger.BrandReinstated)
    assert (reinstated.reinstated_by, reinstated.reinstated_at, reinstated.timestamp) == (
        "admin api: ana",
        T0 + DAY,
        T0 + DAY,
    )


def test_reinstating_a_brand_in_good_standing_records_nothing() -> None:
    ledger = ledger_on()
    assert ledger.reinstate("cli: ops", T0) is False
    assert ledger.collect_events() == []


def test_a_brand_can_be_suspended_again_after_a_reinstatement() -> None:
    ledger = ledger_on()
    ledger.suspend("unpaid invoice", "cli: ops", T0)
    ledger.reinstate("cli: ops", T0 + DAY)
    assert ledger.suspend("spam complaints", "cli: ops", T0 + 2 * DAY) is True
    assert (ledger.suspension_reason, ledger.suspended_since) == ("spam complaints", T0 + 2 * DAY)


def test_a_suspended_ledger_replays_suspended_and_a_reinstated_one_in_good_standing() -> None:
    app: Application[UUID] = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    ledger = CreditLedger.open(uuid4(), Plan.BASIC, opened_at=T0)
    ledger.suspend("unpaid invoice", "cli: ops", T0 + DAY)
    copy = replayed(ledger, app)
    assert (copy.suspended, copy.suspension_reason, copy.suspended_since) == (
        True,
        "unpaid invoice",
        T0 + DAY,
    )
    copy.reinstate("cli: ops", T0 + 2 * DAY)
    again = replayed(copy, app)
    assert (again.suspended, again.suspension_reason, again.suspended_since) == (False, None, None)


def test_a_suspended_brands_plan_still_renews() -> None:
    ledger = ledger_on()
    ledger.suspend("unpaid invoice", "cli: ops", T0)
    assert ledger.renew(APRIL) and ledger.balance == 2_000
