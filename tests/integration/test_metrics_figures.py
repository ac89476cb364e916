"""What /metrics reads from the database at each scrape: credits granted, reserved, consumed and
released across brands, campaigns by status, and how far each read model has applied the log.

On a database of its own (the figures are across brands), with the clock held by the test
(tests/integration/desk.py) and only the projector running.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from runtime.bootstrap import PROJECTIONS
from runtime.metrics import DatabaseFigures
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
        # settlement is a follower like the read models: where it stands and how far behind
        settled = d.service.db.fetch_one("SELECT position FROM settlement_position")
        assert settled is not None and settled["position"] > 0
        assert gauges['campaign_service_follower_position{follower="settlement"}'] == settled["position"]
        assert (
            gauges['campaign_service_follower_lag_events{follower="settlement"}']
            == head - settled["position"]
        )
        # nothing parked: a zero for every follower, and a parked item counted under its own, also
        # under a periodic job that keeps no position
        assert gauges['campaign_service_parked_items{follower="settlement"}'] == 0
        with d.service.db.transaction() as cur:
            cur.execute(
                """INSERT INTO parked_items (follower, item, error, attempts, status)
                   VALUES ('job:renewals', 'brand-1', 'boom', 3, 'parked')"""
            )
        again = scrape(d)
        assert again['campaign_service_parked_items{follower="job:renewals"}'] == 1
        assert again['campaign_service_parked_items{follower="settlement"}'] == 0


def test_each_family_says_what_it_counts(database_url):
    with desk(database_url) as d:
        described = {
            line.split(" ", 3)[2]: line.split(" ", 3)[3]
            for line in d.client.get("/metrics").text.splitlines()
            if line.startswith("# HELP campaign_service_")
        }
    assert {name: described.get(name) for name in HELP} == HELP


HELP = {
    "campaign_service_event_store_position": "Notification id of the last event stored",
    "campaign_service_follower_position": "Last event store position a log follower has handled",
    "campaign_service_follower_lag_events": "Events stored that a log follower has not handled yet",
    "campaign_service_parked_items": "Items a log follower or periodic job set aside after repeated failures",
    "campaign_service_credits_total": "Credits granted, reserved, consumed and released so far (from the credit ledger)",
    "campaign_service_campaigns": "Campaigns by status",
}


def test_a_scrape_the_database_cannot_answer_shows_no_figures_and_says_why(caplog):
    def unreachable() -> int:
        raise OSError("connection refused")

    with caplog.at_level(logging.WARNING, logger="runtime.metrics"):
        assert list(DatabaseFigures(None, unreachable).collect()) == []  # type: ignore[arg-type]
    assert [r.getMessage() for r in caplog.records] == [
        "metrics: the database did not answer: connection refused"
    ]
