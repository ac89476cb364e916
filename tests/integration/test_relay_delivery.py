"""The relay keeps its place until Kafka has taken a batch, and never sends the broker what it refuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from kafka import KafkaConsumer, KafkaProducer

from consumers.relay import Relay
from consumers.transport.kafka import KafkaTransport
from consumers.transport.messages import EVENTS_TOPIC
from domain.campaign import Campaign
from runtime.service import build_service
from runtime.settings import Settings
from storage.containment import TransportUnavailable


def _campaign(name: str, body: str = "Hello") -> Campaign:
    step = {"id": "s0", "type": "EMAIL", "group": 0, "order": 0, "subject": "Hi", "body": body}
    return Campaign._create(
        Campaign.CampaignCreated,
        id=uuid4(),
        brand_id=uuid4(),
        name=name,
        audience_type="leads",
        ai_personalization=False,
        lead_group_ids=[],
        steps=[step],
        timezone="UTC",
        sending_window={},
        created_at=datetime.now(UTC),
    )


def test_a_batch_kafka_refuses_is_read_again_and_an_oversized_event_goes_out_as_its_envelope(
    database_url, kafka_bootstrap
):
    prefix = f"t{uuid4().hex[:8]}."
    container = build_service(Settings(database_url=database_url))
    transport = KafkaTransport(kafka_bootstrap, prefix=prefix)
    try:
        small, huge = _campaign("small"), _campaign("huge", body="x" * 1_200_000)
        container.store.save(small, huge)
        relay = Relay(container.store, container.db, transport, publish_events=True, name="relay-test")

        healthy = transport.producer
        # A real producer whose largest request is tiny: the broker side refuses every message.
        transport.producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, max_request_size=200)
        with pytest.raises(TransportUnavailable):
            relay.run_once()
        assert relay.position() == 0  # nothing recorded: the batch is read again

        transport.producer.close()
        transport.producer = healthy
        assert relay.run_once() == 2
        assert relay.position() == container.store.recorder.max_notification_id()

        consumer = KafkaConsumer(
            prefix + EVENTS_TOPIC,
            bootstrap_servers=kafka_bootstrap,
            auto_offset_reset="earliest",
            consumer_timeout_ms=10_000,
        )
        feed = {}
        for record in consumer:
            message = json.loads(record.value)
            feed[message["aggregate_id"]] = message
            if len(feed) == 2:
                break
        consumer.close()
        assert feed[str(small.id)]["data"]["name"] == "small"
        assert feed[str(huge.id)]["data"] is None
        assert "bytes" in feed[str(huge.id)]["truncated"]
    finally:
        transport.close()
        container.close()
