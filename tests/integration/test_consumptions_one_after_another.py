"""A campaign settled in two passes has two consumptions, and each pays for its own sends only: the
second starts where the first ended (projections/consumption_steps.py, read by the console's
credits page). The clock is held by the test (tests/integration/desk.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from projections.consumption_steps import steps_paid
from tests.integration.desk import desk
from tests.support import eventually

NOW = datetime(2037, 12, 7, 10, 0, tzinfo=UTC)  # after the real clock: the setup runs at real time
ONE_EMAIL = [{"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}]


def test_a_campaigns_second_consumption_pays_for_the_sends_after_its_first_and_no_other(database_url):
    with desk(database_url) as d:
        d.client.sender("email", "sales@brand.example")
        campaign = d.campaign([{"email": "ann@example.com"}, {"email": "bob@example.com"}], ONE_EMAIL)
        ann, bob = d.launch(campaign, NOW)
        ann_step, bob_step = d.dispatch([ann], NOW), d.dispatch([bob], NOW)
        assert d.send(ann_step, NOW).sent == 1
        d.settle(NOW)
        later = NOW + timedelta(minutes=5)
        assert d.send(bob_step, later).sent == 1
        d.settle(later)

        def consumed() -> list[int]:
            rows = d.service.db.fetch_all(
                """SELECT position FROM credit_ledger_entries
                   WHERE campaign_id = %s AND type = 'consumed' ORDER BY position""",
                (campaign,),
            )
            return [row["position"] for row in rows]

        first, second = eventually(lambda: len(found := consumed()) == 2 and found)
        paid = steps_paid(d.store, d.service.db, d.client.brand_id, [second])
        assert list(paid) == [second]  # only the consumption asked for
        [(later_one, sends)] = paid.values()
        earlier = steps_paid(d.store, d.service.db, d.client.brand_id, [first])[first][0]
        assert sends == 1 and later_one.amount == 1  # bob's send alone, not ann's again
        assert later_one.settled_from == earlier.settled_through > 0
        assert steps_paid(d.store, d.service.db, d.client.brand_id, [first])[first][1] == 1
