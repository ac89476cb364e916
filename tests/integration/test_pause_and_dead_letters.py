"""Pause with dispatches already in Kafka, resume, and undecodable messages, on the real broker."""

from __future__ import annotations

import json
from collections import Counter

from kafka import KafkaConsumer, KafkaProducer

from consumers.transport.messages import DEAD_LETTER_TOPIC, SEND_TOPICS
from tests.support import Client, contacts, eventually, running_service

CONTACTS = 150


def test_pausing_mid_run_cancels_queued_dispatches_and_resume_sends_each_exactly_once(
    database_url, kafka_bootstrap
):
    with running_service(database_url, kafka=kafka_bootstrap, sandbox_delay_ms=10, batch_size=20) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example", daily_limit=10_000)
        group = client.lead_group(contacts(CONTACTS, phones=False))
        campaign_id = client.campaign(group, [{"type": "EMAIL", "group": 0, "subject": "s", "body": "b"}])
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))

        def metrics() -> dict:
            return client.ok(client.get(f"/v1/campaign/{campaign_id}"))["metrics"]

        eventually(lambda: metrics()["sent"]["email"] >= 10, timeout=60)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/pause"))
        paused = eventually(
            lambda: (m := metrics())["sent"]["email"] + m["cancelled"] == CONTACTS and m, timeout=60
        )
        assert paused["cancelled"] > 0  # dispatches already on the topic were skipped, not sent
        assert len(client.outbox(campaign_id)) == paused["sent"]["email"] < CONTACTS

        client.ok(client.post(f"/v1/campaign/{campaign_id}/resume"))
        eventually(lambda: metrics()["sent"]["email"] == CONTACTS, timeout=90)
        outbox = client.outbox(campaign_id)
        assert len(outbox) == CONTACTS
        assert set(Counter(item["contact_id"] for item in outbox).values()) == {1}


def test_an_undecodable_dispatch_goes_to_the_dead_letter_topic_and_sending_goes_on(
    database_url, kafka_bootstrap
):
    with running_service(database_url, kafka=kafka_bootstrap) as service:
        prefix = service.settings.kafka_topic_prefix
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
        producer.send(prefix + SEND_TOPICS["email"], key=b"x", value=b"{not json")
        producer.flush()
        producer.close()

        client = Client(service)
        client.sender("email", "sales@brand.example")
        group = client.lead_group(contacts(3, phones=False))
        campaign_id = client.campaign(group, [{"type": "EMAIL", "group": 0, "subject": "s", "body": "b"}])
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        eventually(lambda: len(client.outbox(campaign_id)) == 3, timeout=60)

        letters = KafkaConsumer(
            prefix + DEAD_LETTER_TOPIC,
            bootstrap_servers=kafka_bootstrap,
            auto_offset_reset="earliest",
            consumer_timeout_ms=15_000,
        )
        try:
            letter = json.loads(next(iter(letters)).value)
        finally:
            letters.close()
        assert letter["raw"] == "{not json"
        assert letter["topic"] == "sends.email"
        assert letter["error"]
