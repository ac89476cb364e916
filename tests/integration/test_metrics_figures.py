"""What /metrics reads from the database at each scrape: credits granted, reserved, consumed and
released across brands, campaigns by status, and how far each read model has applied the log.

On a database of its own (the figures are across brands), with the clock held by the test
(tests/integration/desk.py) and only the projector running.
"""

from __future__ import annotations

from datetime import UTC, datetime

from runtime.bootstrap import PROJECTIONS
from tests.integration.desk import desk
from tests.support import eventually

NOW = datetime(2037, 12, 7, 10, 0, tzinfo=UTC)  # after the real clock: the setup runs at real time
ONE_EMAIL = [{"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}]


def scrape(d) -> dict[str, float]:
    text = d.client.get("/metrics").text
    return {
        name: float(value)
        for name, value in (line.rsplit(" ", 1) for line in text.splitlines() if line[0] != "#")
    }


def test_the_metrics_count_credits_and_campaigns_and_say_where_each_read_model_stands(database_url):
    with desk(database_url) as d:
        d.client.sender("email", "sales@brand.example")
        launched = d.campaign([{"email": "ann@example.com"}, {"email": "bob@example.com"}], ONE_EMAIL)
        d.campaign([{"email": "cy@example.com"}], ONE_EMAIL)  # stays a draft
        enrollments = d.launch(launched, NOW)
        assert d.send(d.dispatch(enrollments, NOW), NOW).sent == 2
        d.settle(NOW)
        balance = d.store.ledger(d.client.brand_id).balance
        head = d.store.recorder.max_notification_id()

        def caught_up() -> dict[str, float] | None:
            gauges = scrape(d)
            followers = [
                f'campaign_service_follower_position{{follower="projection:{p.name}"}}' for p in PROJECTIONS
            ]
            return gauges if all(gauges.get(f) == head for f in followers) else None

        gauges = eventually(caught_up)
        assert gauges["campaign_service_event_store_position"] == head
        for projection in PROJECTIONS:
            assert (
                gauges[f'campaign_service_follower_lag_events{{follower="projection:{projection.name}"}}']
                == 0
            )
        credits = {
            kind: gauges[f'campaign_service_credits_total{{kind="{kind}"}}']
            for kind in ("granted", "reserved", "consumed", "released")
        }
        assert credits == {"granted": balance + 2, "reserved": 2, "consumed": 2, "released": 0}
        campaigns = {k: v for k, v in gauges.items() if k.startswith("campaign_service_campaigns{")}
        assert campaigns == {
            'campaign_service_campaigns{status="ACTIVE"}': 1,
            'campaign_service_campaigns{status="DRAFT"}': 1,
        }
