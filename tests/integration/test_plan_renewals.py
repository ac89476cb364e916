"""Plans renew monthly on the brand's renewal day at 00:00 UTC, one grant per period, through the
daily cron on real PostgreSQL: month ends (the 31st, February, a leap year), a cron down for two
months (each missed period once, in order), crons repeated or racing (nothing twice), a plan change
(from the next renewal on), a brand made before renewals existed, and one brand's failure parked
while the others renew. The test holds the clock: the cron's pass is called at chosen moments."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from commands.credits.brand_standing import change_plan
from commands.credits.brands import create_brand
from commands.credits.plan_renewals import FOLLOWER, renew_plans
from consumers.timed_jobs import DailyCron
from domain.credit_ledger import CreditLedger, Plan
from storage import parked
from tests.support import running_service


@pytest.fixture
def service(database_url):
    with running_service(database_url, roles=()) as running:
        yield running


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def brand(service, created: datetime, plan: Plan = Plan.BASIC) -> UUID:
    return create_brand(service.store, service.db, f"brand-{uuid4().hex[:6]}", plan, created).brand_id


def grants(service, brand_id: UUID) -> list[tuple[str, int, datetime]]:
    return [
        (event.reason, event.amount, event.granted_at)
        for event in service.store.events.get(CreditLedger.create_id(brand_id))
        if isinstance(event, CreditLedger.CreditsGranted)
    ]


def cron(service, now: datetime) -> int:
    return DailyCron(service.store, service.db, lambda: now).tick()


def test_a_brand_made_on_the_31st_renews_on_each_months_last_day_once_however_often_the_cron_runs(service):
    acme = brand(service, at(2027, 12, 31, 15, 30))
    assert renew_plans(service.store, service.db, at(2028, 1, 30, 23, 59)) == 0
    for moment in (at(2028, 1, 31), at(2028, 1, 31, 0, 1), at(2028, 2, 28, 23, 59)):
        renew_plans(service.store, service.db, moment)  # on time, again, and the day before February's
    renew_plans(service.store, service.db, at(2028, 2, 29))  # 2028 is a leap year
    renew_plans(service.store, service.db, at(2028, 3, 30, 12))  # not yet: March has a 31st
    renew_plans(service.store, service.db, at(2028, 3, 31, 6))
    renew_plans(service.store, service.db, at(2028, 4, 30))
    assert grants(service, acme) == [
        ("plan basic", 1_000, at(2027, 12, 31, 15, 30)),
        ("plan basic 2028-01", 1_000, at(2028, 1, 31)),
        ("plan basic 2028-02", 1_000, at(2028, 2, 29)),
        ("plan basic 2028-03", 1_000, at(2028, 3, 31)),
        ("plan basic 2028-04", 1_000, at(2028, 4, 30)),
    ]
    assert service.store.ledger(acme).balance == 5_000


def test_february_of_a_common_year_renews_on_the_28th_and_march_on_the_brands_day(service):
    acme = brand(service, at(2026, 1, 30, 9))
    assert cron(service, at(2026, 2, 27, 23, 59)) == 0
    assert cron(service, at(2026, 2, 28)) == 1
    assert cron(service, at(2026, 3, 29)) == 0
    assert cron(service, at(2026, 3, 30)) == 1
    assert [g[0] for g in grants(service, acme)] == ["plan basic", "plan basic 2026-02", "plan basic 2026-03"]


def test_a_cron_down_for_two_months_grants_each_missed_period_once_in_order(service):
    acme = brand(service, at(2026, 10, 15, 8), Plan.STANDARD)
    assert cron(service, at(2026, 11, 15, 0, 5)) == 1
    # Down from here until the 20th of January: December's and January's renewals were missed.
    assert cron(service, at(2027, 1, 20, 3)) == 2
    assert cron(service, at(2027, 1, 20, 3, 1)) == 0
    assert grants(service, acme)[1:] == [
        ("plan standard 2026-11", 10_000, at(2026, 11, 15)),
        ("plan standard 2026-12", 10_000, at(2026, 12, 15)),
        ("plan standard 2027-01", 10_000, at(2027, 1, 15)),
    ]
    assert cron(service, at(2027, 2, 15)) == 1


def test_crons_racing_on_two_machines_grant_each_period_once(service):
    brands = [brand(service, at(2026, 5, day, 12)) for day in (1, 15, 28, 31)]
    late = at(2026, 9, 2)  # three or four periods owed to each
    with ThreadPoolExecutor(4) as pool:
        granted = sum(pool.map(lambda _: renew_plans(service.store, service.db, late), range(4)))
    per_brand = [len(grants(service, b)) - 1 for b in brands]
    assert per_brand == [4, 3, 3, 3]  # June to September on the 1st; June to August for the others
    assert granted == sum(per_brand)
    for b in brands:
        periods = [g[0].rsplit(" ", 1)[-1] for g in grants(service, b)[1:]]
        assert periods == sorted(set(periods))


def test_a_plan_change_is_granted_from_the_next_renewal_on(service):
    acme = brand(service, at(2026, 3, 10, 10))
    cron(service, at(2026, 4, 10))
    change_plan(service.store, service.db, acme, Plan.PREMIUM, "ops", at(2026, 4, 20))
    assert service.store.ledger(acme).balance == 2_000  # the change grants nothing by itself
    cron(service, at(2026, 5, 10))
    assert [g[:2] for g in grants(service, acme)] == [
        ("plan basic", 1_000),
        ("plan basic 2026-04", 1_000),
        ("plan premium 2026-05", 100_000),
    ]


def test_a_brand_made_before_renewals_existed_is_owed_nothing_past_and_renews_from_its_next_day(service):
    old = brand(service, at(2025, 6, 3, 12))
    service.db.execute(
        "UPDATE brands SET next_renewal_at = NULL WHERE id = %s", (old,)
    )  # as migration 0012 left it
    assert cron(service, at(2026, 12, 7, 5)) == 0
    assert cron(service, at(2027, 1, 3)) == 1
    assert [g[0] for g in grants(service, old)] == ["plan basic", "plan basic 2027-01"]


def test_a_brand_that_cannot_be_renewed_is_parked_and_the_others_renew(service):
    good = brand(service, at(2026, 3, 10))
    broken = uuid4()  # a brand row whose ledger is missing
    service.db.execute(
        """INSERT INTO brands (id, name, plan, api_key_sha256, created_at, next_renewal_at)
           VALUES (%s, 'broken', 'basic', %s, %s, %s)""",
        (broken, uuid4().hex, at(2026, 3, 10), at(2026, 4, 10)),
    )
    moment = at(2026, 4, 10, 1)
    for minute in range(6):  # tried again on later passes (after its backoff), then parked
        service.db.execute("UPDATE parked_items SET last_seen = last_seen - interval '1 day'")
        cron(service, moment + timedelta(minutes=minute))
    assert [g[0] for g in grants(service, good)] == ["plan basic", "plan basic 2026-04"]
    [item] = [row for row in parked.listing(service.db, FOLLOWER)]
    assert item["item"] == str(broken) and item["brand_id"] == broken and item["status"] == "parked"
