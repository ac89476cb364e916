"""The execution engine end to end, fast-forwarded with the dev clock: timing, rotation, pause, completion.

Six contacts, three email senders with small limits (one warming up), steps in groups 0, 1 (after
a WAIT) and 2. The clock is moved day by day, with a pause and resume in the middle; at the end
the sends, their days, the accounts used, the metrics and the credits are exactly what the rules
predict.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from uuid import UUID

import pytest

from domain.enrollment import Enrollment
from tests.support import (
    Client,
    campaign_dispatches,
    contacts,
    eventually,
    processed_after,
    running_service,
)

DAY = 86_400
STEPS = [
    {"type": "EMAIL", "group": 0, "subject": "Hello {{first_name}}", "body": "first"},
    {"type": "WAIT", "group": 1, "wait_days": 1},
    {"type": "EMAIL", "group": 1, "subject": "Re: hello", "body": "second"},
    {"type": "EMAIL", "group": 2, "subject": "Last one", "body": "third"},
]


def sent_events(service, campaign_id: str) -> list[Enrollment.StepSent]:
    campaign = UUID(campaign_id)
    rows = service.db.fetch_all("SELECT contact_id FROM launch_audiences WHERE campaign_id = %s", (campaign,))
    events = []
    for row in rows:
        stored = service.store.events.get(Enrollment.create_id(campaign, row["contact_id"]))
        events += [e for e in stored if isinstance(e, Enrollment.StepSent)]
    return events


@pytest.fixture(params=["in-process", pytest.param("kafka", marks=pytest.mark.kafka)])
def transport(request) -> str | None:
    return request.getfixturevalue("kafka_bootstrap") if request.param == "kafka" else None


def test_a_campaign_runs_day_by_day_with_rotation_warmup_pause_and_completion(database_url, transport):
    with running_service(database_url, kafka=transport, dev_clock=True) as service:
        client = Client(service)
        warming = client.ok(
            client.post(
                "/v1/sender-accounts",
                {
                    "channel": "email",
                    "provider": "sandbox",
                    "address": "warm@brand.example",
                    "daily_limit": 100,
                    "warmup": {"enabled": True, "start_limit": 2, "daily_increment": 1},
                },
            ),
            201,
        )
        b = client.sender("email", "b@brand.example", daily_limit=3)
        c = client.sender("email", "c@brand.example", daily_limit=2)
        limits = {warming["id"]: [2, 3, 4, 5], b["id"]: [3, 3, 3, 3], c["id"]: [2, 2, 2, 2]}
        assert warming["limit_today"] == 2

        group = client.lead_group(contacts(6, phones=False))
        campaign_id = client.campaign(group, STEPS)
        # Read before the launch: group 0 goes out while the launch is answered, before any later read.
        start = service.clock.now()
        launched = client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        assert launched["credits_reserved"] == 18  # three EMAIL steps x six contacts

        def sent_count() -> int:
            return sum(client.ok(client.get(f"/v1/campaign/{campaign_id}"))["metrics"]["sent"].values())

        def advance(days: float) -> None:
            client.ok(client.post("/v1/dev/clock/advance", {"seconds": days * DAY}))

        eventually(lambda: sent_count() == 6)  # group 0 at launch

        def dispatched() -> int:
            return len(campaign_dispatches(service, campaign_id))

        with processed_after(service, "follow_ups"):
            advance(1)
        assert dispatched() == 6  # group 1 is due two days after group 0: one day + one WAIT day
        assert sent_count() == 6

        client.ok(client.post(f"/v1/campaign/{campaign_id}/pause"))
        with processed_after(service, "follow_ups"):
            advance(1)
        assert dispatched() == 6  # due, but paused: nothing is dispatched
        assert sent_count() == 6
        assert client.ok(client.post(f"/v1/campaign/{campaign_id}/resume"))["status"] == "ACTIVE"
        eventually(lambda: sent_count() == 12)

        advance(1)
        eventually(lambda: sent_count() == 18)
        detail = eventually(
            lambda: (
                (d := client.ok(client.get(f"/v1/campaign/{campaign_id}")))["status"] == "COMPLETED"
                and d["credits"]["consumed"] == 18
                and d
            )
        )
        assert detail["metrics"]["enrolled"] == 6
        assert detail["metrics"]["sent"] == {"email": 18, "sms": 0, "voicemail": 0}
        assert detail["metrics"]["failed"] == 0
        assert detail["credits"] == {"reserved": 18, "consumed": 18, "released": 0, "outstanding": 0}
        assert client.ok(client.get("/v1/credits"))["balance"] == 1000 - 18

        events = sent_events(service, campaign_id)
        assert len(events) == 18
        assert len({(e.originator_id, e.step_id) for e in events}) == 18  # each step once per contact
        step_ids = {s["group"]: s["id"] for s in detail["steps"] if s["type"] == "EMAIL"}
        day_of = {step_ids[0]: 0, step_ids[1]: 2, step_ids[2]: 3}
        for e in events:
            assert (e.sent_at - start).days == day_of[e.step_id], (e.step_id, e.sent_at - start)

        per_day_account = Counter(((e.sent_at - start).days, e.sender_account_id) for e in events)
        for (day, account), count in per_day_account.items():
            assert count <= limits[account][day], (day, account, count)

        sender_of = defaultdict(dict)
        for e in events:
            sender_of[e.originator_id][e.step_id] = e.sender_account_id
        for steps in sender_of.values():  # day 3 has room everywhere: each contact keeps its sender
            assert steps[step_ids[2]] == steps[step_ids[1]]

        assert len(client.outbox(campaign_id)) == 18
        accounts = {a["id"]: a for a in client.ok(client.get("/v1/sender-accounts"))["items"]}
        assert accounts[warming["id"]]["limit_today"] == 5  # warm-up advanced on each of three resets
        assert sum(a["sends_today"] for a in accounts.values()) == 6
        assert service.clock.now() - start >= timedelta(days=3)
