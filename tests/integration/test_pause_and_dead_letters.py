"""Pause with dispatches already in Kafka, resume, and undecodable messages, on the real broker."""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

from kafka import KafkaConsumer, KafkaProducer

from commands.sending.providers import OutboundMessage, Provider, SendOutcome
from consumers.providers.sandbox import SandboxProvider
from consumers.transport.messages import DEAD_LETTER_TOPIC, SEND_TOPICS
from tests.support import Client, contacts, eventually, running_service

CONTACTS = 150
FIRST_SENDS = 10


class HeldAfterTheFirstSends(Provider):
    """The sandbox (10 ms a call), except that the calls after the first FIRST_SENDS wait until
    the test has paused the campaign: the pause lands while most dispatches are still on the
    topic however fast or slow the machine (without it, all 150 could be sent before it)."""

    def __init__(self, sandbox: SandboxProvider) -> None:
        self.sandbox, self.holding, self.paused = sandbox, threading.Event(), threading.Event()
        self.calls, self.lock = 0, threading.Lock()

    def send(self, message: OutboundMessage) -> SendOutcome:
        with self.lock:
            self.calls += 1
            held = self.calls > FIRST_SENDS
        if held:
            self.holding.set()
            self.paused.wait(60)
        return self.sandbox.send(message)

    def find_sent(self, key: str) -> Any:
        return self.sandbox.find_sent(key)


def test_pausing_mid_run_cancels_queued_dispatches_and_resume_sends_each_exactly_once(
    database_url, kafka_bootstrap
):
    adapters: list[HeldAfterTheFirstSends] = []

    def providers(db: Any) -> dict[str, Any]:
        adapters.append(HeldAfterTheFirstSends(SandboxProvider(db, 0.01)))
        return {"sandbox": adapters[-1]}

    with running_service(database_url, kafka=kafka_bootstrap, batch_size=20, providers=providers) as service:
        [provider] = adapters
        client = Client(service)
        client.sender("email", "sales@brand.example", daily_limit=10_000)
        group = client.lead_group(contacts(CONTACTS, phones=False))
        campaign_id = client.campaign(group, [{"type": "EMAIL", "group": 0, "subject": "s", "body": "b"}])
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))

        def metrics() -> dict:
            return client.ok(client.get(f"/v1/campaign/{campaign_id}"))["metrics"]

        try:  # (a batch's sends are recorded when its calls are done: wait on the calls themselves)
            assert provider.holding.wait(60)  # the next call after the first sends waits
            eventually(lambda: len(client.outbox(campaign_id)) == FIRST_SENDS)  # those are out
            client.ok(client.post(f"/v1/campaign/{campaign_id}/pause"))
        finally:
            provider.paused.set()
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
