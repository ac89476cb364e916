"""PostgreSQL, and separately the Kafka broker, go away in the middle of a running campaign.

The roles wait and retry, `/readyz` answers 503 naming the failing check meanwhile, and when the
server is back the campaign finishes with every contact given each step exactly once: the sandbox
outbox (which records every provider call, repeats included), the provider ids on the executions,
the metrics and the credits all agree. Each test brings its own server to restart (a dedicated
embedded PostgreSQL, or a second Kafka broker), so the shared ones other tests use are untouched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from consumers.transport.kafka import KafkaTransport
from domain.enrollment import Enrollment
from runtime.embedded_postgres import EmbeddedPostgres, free_port
from tests.support import Client, contacts, eventually, running_service

CONTACTS = 120
STEPS = [
    {"type": "EMAIL", "group": 0, "subject": "Hi {{first_name|there}}", "body": "Hello"},
    {"type": "SMS", "group": 0, "body": "Hi {{first_name|there}}"},
]
SENDS = 2 * CONTACTS
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path / "pg", durable=False)
    server.start()
    yield server
    server.stop()


class Broker:
    """A second single-node Kafka broker with its own state dir and ports, via scripts/kafka.sh."""

    def __init__(self, state_dir: Path) -> None:
        port, controller = free_port(), free_port()
        while controller == port:
            controller = free_port()
        self.bootstrap = f"127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "KAFKA_STATE_DIR": str(state_dir),
            "KAFKA_PORT": str(port),
            "KAFKA_CONTROLLER_PORT": str(controller),
            "KAFKA_HEAP_OPTS": "-Xmx384m -Xms64m",
            "PYTHON": sys.executable,
        }

    def run(self, action: str) -> None:
        subprocess.run(
            [str(ROOT / "scripts" / "kafka.sh"), action],
            env=self.env,
            stdout=subprocess.DEVNULL,
            timeout=120,
            check=True,
        )


@pytest.fixture
def own_kafka(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Broker]:
    broker = Broker(tmp_path / "kafka")  # kafka_bootstrap: skipped where no broker can run
    broker.run("start")
    try:
        yield broker
    finally:
        broker.run("stop")


def quietly(ask: Callable[[], Any]) -> Any:
    """An answer, or None while the outage makes the API or the database fail."""
    try:
        return ask()
    except Exception:
        return None


def launch_campaign(client: Client) -> str:
    client.sender("email", "sales@brand.example", daily_limit=10_000)
    client.sender("sms", "+14155550000", daily_limit=10_000)
    campaign_id = client.campaign(client.lead_group(contacts(CONTACTS)), STEPS)
    client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
    return campaign_id


def provider_calls(client: Client, campaign_id: str) -> list[dict[str, Any]]:
    return client.container.db.fetch_all(
        "SELECT contact_id, step_id, provider_message_id FROM sandbox_outbox WHERE campaign_id = %s",
        (campaign_id,),
    )


def wait_until_partly_sent(client: Client, campaign_id: str) -> int:
    def calls_so_far() -> int | None:  # the count itself: a bare `>=` made `sent` a bool, always < SENDS
        count = len(provider_calls(client, campaign_id))
        return count if count >= SENDS // 10 else None

    sent: int = eventually(calls_so_far, timeout=60)
    assert sent < SENDS, "the campaign finished before the outage could land in its middle"
    return sent


def outage_reported(client: Client, check: str) -> dict[str, Any]:
    def failing() -> dict[str, Any] | None:
        answer = client.get("/readyz")
        return answer.json() if answer.status_code == 503 and not answer.json()["checks"][check] else None

    return eventually(lambda: quietly(failing), timeout=30)


def assert_each_contact_got_each_step_once(client: Client, campaign_id: str) -> None:
    def finished() -> dict[str, Any] | None:
        detail = client.ok(client.get(f"/v1/campaign/{campaign_id}"))
        return detail if detail["credits"]["consumed"] == SENDS else None

    detail = eventually(lambda: quietly(finished), timeout=180, interval=0.5)
    assert detail["metrics"]["sent"] == {"email": CONTACTS, "sms": CONTACTS, "voicemail": 0}
    assert detail["metrics"]["failed"] == 0
    assert detail["credits"] == {"reserved": SENDS, "consumed": SENDS, "released": 0, "outstanding": 0}

    calls = provider_calls(client, campaign_id)
    assert len(calls) == SENDS  # no provider call repeated
    assert set(Counter((c["contact_id"], c["step_id"]) for c in calls).values()) == {1}
    assert sorted(recorded_provider_ids(client, campaign_id)) == sorted(
        c["provider_message_id"] for c in calls
    )

    assert eventually(lambda: quietly(lambda: client.get("/readyz").status_code == 200), timeout=30)


def recorded_provider_ids(client: Client, campaign_id: str) -> list[str]:
    """The provider id on every StepSent in the event history of the campaign's enrollments."""
    store, db = client.container.store, client.container.db
    audience = db.fetch_all("SELECT contact_id FROM launch_audiences WHERE campaign_id = %s", (campaign_id,))
    assert len(audience) == CONTACTS
    return [
        event.provider_message_id
        for row in audience
        for event in store.events.get(Enrollment.create_id(UUID(campaign_id), row["contact_id"]))
        if isinstance(event, Enrollment.StepSent)
    ]


def restart_postgres_mid_campaign(server: EmbeddedPostgres, kafka: str | None) -> float:
    url = server.url
    with running_service(url, kafka=kafka, sandbox_delay_ms=20) as service:
        client = Client(service)
        campaign_id = launch_campaign(client)
        wait_until_partly_sent(client, campaign_id)

        server.stop()
        down_at = time.monotonic()
        assert outage_reported(client, "database")["checks"]["database"] is False
        time.sleep(3)  # every role meets the outage, more than once
        assert server.start() == url  # the same port: the roles' pools reconnect to it
        outage = time.monotonic() - down_at
        # The pools replace their dead connections (a pool in its reconnect backoff may take a moment
        # more); once ready again, requests succeed.
        assert eventually(lambda: quietly(lambda: client.get("/readyz").status_code == 200), timeout=15)
        client.ok(client.get(f"/v1/campaign/{campaign_id}"))

        assert_each_contact_got_each_step_once(client, campaign_id)
        assert all(thread.is_alive() for thread in service.supervisor.threads)
    return outage


def test_a_postgres_restart_mid_campaign_loses_and_repeats_nothing_in_process(own_postgres):
    restart_postgres_mid_campaign(own_postgres, kafka=None)


def test_a_postgres_restart_mid_campaign_loses_and_repeats_nothing_over_kafka(own_postgres, kafka_bootstrap):
    restart_postgres_mid_campaign(own_postgres, kafka=kafka_bootstrap)


@pytest.mark.timeout(90)
@pytest.mark.serial  # times an outage of a broker of its own: not beside other workers' load
def test_a_kafka_restart_mid_campaign_loses_and_repeats_nothing(database_url, own_kafka):
    with running_service(database_url, kafka=own_kafka.bootstrap, sandbox_delay_ms=20) as service:
        client = Client(service)
        campaign_id = launch_campaign(client)
        wait_until_partly_sent(client, campaign_id)

        own_kafka.run("stop")
        assert outage_reported(client, "transport")["checks"]["transport"] is False
        time.sleep(3)
        own_kafka.run("resume")

        assert_each_contact_got_each_step_once(client, campaign_id)
        assert all(thread.is_alive() for thread in service.supervisor.threads)


@pytest.mark.timeout(150)
@pytest.mark.serial
def test_kafka_clients_outlive_an_outage_longer_than_their_connect_timeout(own_kafka):
    prefix = f"t{uuid4().hex[:8]}."
    transport = KafkaTransport(own_kafka.bootstrap, batch_size=10, prefix=prefix)
    own_kafka.run("stop")
    handled: list[bytes] = []
    stop = threading.Event()
    worker = threading.Thread(
        target=transport.consume, args=("sends.email", "workers", handled.extend, stop), daemon=True
    )
    worker.start()
    started: list[Any] = []
    starting = threading.Thread(
        target=lambda: started.append(quietly(lambda: KafkaTransport(own_kafka.bootstrap, prefix=prefix))),
        daemon=True,
    )
    starting.start()
    try:
        with pytest.raises(RuntimeError, match=f"Kafka at {own_kafka.bootstrap} not usable after 2 s"):
            KafkaTransport(own_kafka.bootstrap, prefix=prefix, start_timeout=2)
        time.sleep(35)  # past kafka-python's 30 s bootstrap timeout, which used to end the worker
        assert worker.is_alive() and starting.is_alive()

        own_kafka.run("resume")
        starting.join(timeout=60)
        assert started and isinstance(started[0], KafkaTransport)  # the waiting start went through
        transport.publish("sends.email", "key", b"dispatch")
        transport.flush()
        assert eventually(lambda: handled == [b"dispatch"], timeout=60)
    finally:
        stop.set()
        worker.join(timeout=15)
        transport.close()
        if started and started[0] is not None:
            started[0].close()
