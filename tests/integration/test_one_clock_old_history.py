"""History stored before one clock reads on one clock: a campaign whose events' time fields were the
use case's `now` while their timestamps were taken a few milliseconds later (as every release
before decision 19 stored them) reports its events' own times, and `as_of` each of them shows the
change made then, through the HTTP API on real PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from eventsourcing.persistence import Mapper

from domain.campaign import Campaign
from domain.steps import Step, StepType
from tests.support import Client, eventually, running_service

CREATED = datetime(2026, 3, 2, 9, 0, 0, 250_000, tzinfo=UTC)
LAG = timedelta(milliseconds=3)  # the wall clock's reading came after the use case's `now`
FIELDS = {"CampaignCreated": "created_at", "CampaignLaunched": "launched_at", "CampaignPaused": "paused_at"}


def test_a_campaign_stored_with_its_old_times_reports_and_travels_on_its_events_times(database_url):
    with running_service(database_url, roles=("projector",)) as service:
        client = Client(service)
        campaign = Campaign.create(
            uuid4(),
            client.brand_id,
            "from last year",
            [Step("e0", StepType.EMAIL, 0, 0, "Hi", "Hello")],
            CREATED,
        )
        campaign.launch(CREATED + timedelta(minutes=1), 0)
        campaign.pause(CREATED + timedelta(minutes=2))
        store, stored = service.store, []
        before = Mapper(transcoder=store.mapper.transcoder)  # as stored then: JSON, every field
        for event in campaign.collect_events():
            row = before.to_stored_event(event)
            state = store.mapper.transcoder.decode(row.state)
            state["timestamp"] += LAG  # as stored before: the field `now`, the timestamp a moment later
            stored.append(dataclasses.replace(row, state=store.mapper.transcoder.encode(state)))
        store.recorder.insert_events(stored)

        path = f"/v1/campaign/{campaign.id}"
        detail = eventually(lambda: (r := client.get(path)).status_code == 200 and r.json())
        assert datetime.fromisoformat(detail["created_at"]) == CREATED + LAG
        assert datetime.fromisoformat(detail["launched_at"]) == CREATED + timedelta(minutes=1) + LAG
        events = client.ok(client.get(f"{path}/events"))["items"]
        assert [datetime.fromisoformat(e["occurred_at"]) - LAG - CREATED for e in events] == [
            timedelta(0),
            timedelta(minutes=1),
            timedelta(minutes=2),
        ]
        for reported, status in (
            (detail["created_at"], "DRAFT"),
            (detail["launched_at"], "ACTIVE"),
            (events[2]["occurred_at"], "PAUSED"),
        ):
            assert client.ok(client.get(path, params={"as_of": reported}))["status"] == status
        # The stored fields stay as written: nothing already stored is changed.
        assert all(e["data"][FIELDS[e["type"]]] != e["occurred_at"] for e in events)
