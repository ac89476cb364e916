"""What the relay puts on `campaign.events` for one event: its documented JSON, and past the
broker's largest message its envelope with a note saying where to read the whole of it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import uuid4

from consumers.relay import MAX_FEED_BYTES, feed_message
from domain.campaign import Campaign
from domain.enrollment import Enrollment
from domain.limits import MAX_BODY
from domain.steps import Step
from storage.event_json import event_to_json

NOW = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)


def created_campaign(bodies: list[int]) -> object:
    """A campaign's creation with a step for each body length given."""
    steps = [
        Step.from_dict(
            {"type": "EMAIL", "group": 0, "order": i, "id": f"s{i}", "subject": "Hi", "body": "x" * n}
        )
        for i, n in enumerate(bodies)
    ]
    campaign = Campaign.create(uuid4(), uuid4(), "Q4", steps, NOW)
    (event,) = campaign.collect_events()
    return event


def larger_than_a_step(characters: int) -> list[int]:
    """Body lengths, each within a step's limit, that hold `characters` characters in all."""
    return [MAX_BODY] * (characters // MAX_BODY) + [characters % MAX_BODY or 1]


def test_an_event_within_the_brokers_limit_is_fed_whole():
    event = created_campaign([5])
    assert json.loads(feed_message(42, event)) == json.loads(json.dumps(event_to_json(42, event)))


def test_an_event_exactly_at_the_brokers_limit_is_still_fed_whole():
    steps = MAX_FEED_BYTES // MAX_BODY + 1
    around_the_bodies = len(feed_message(7, created_campaign([1] * steps))) - steps
    last = MAX_FEED_BYTES - around_the_bodies - (steps - 1) * MAX_BODY
    event = created_campaign([MAX_BODY] * (steps - 1) + [last])
    fed = feed_message(7, event)
    assert len(fed) == MAX_FEED_BYTES
    assert json.loads(fed)["data"] is not None and "truncated" not in json.loads(fed)


def test_an_event_past_the_brokers_limit_is_fed_as_its_envelope_with_where_to_read_it():
    event = created_campaign(larger_than_a_step(MAX_FEED_BYTES))
    whole = json.dumps(event_to_json(9, event)).encode()

    fed = feed_message(9, event)

    assert len(fed) < MAX_FEED_BYTES
    document = json.loads(fed)
    expected = event_to_json(9, event)
    assert {k: document[k] for k in ("position", "type", "aggregate_id", "version", "occurred_at")} == {
        k: expected[k] for k in ("position", "type", "aggregate_id", "version", "occurred_at")
    }
    assert document["data"] is None
    assert document["truncated"] == (
        f"{len(whole)} bytes; read it from GET /v1/campaign/{{id}}/events or the export"
    )


def test_an_erased_persons_enrollment_is_fed_with_their_address_shown_as_erased():
    key = str(uuid4())
    sealed = f"pd1:{key}:{'A' * 40}"
    step = Step.from_dict(
        {"type": "EMAIL", "group": 0, "order": 0, "id": "s0", "subject": "Hi", "body": "Hi"}
    )
    enrollment = Enrollment.enroll(uuid4(), uuid4(), uuid4(), {"email": sealed}, [step], NOW)
    assert enrollment is not None
    (enrolled,) = enrollment.collect_events()

    assert json.loads(feed_message(5, enrolled, frozenset({key})))["data"]["addresses"] == {"email": "erased"}
    assert json.loads(feed_message(5, enrolled))["data"]["addresses"] == {"email": "sealed"}
