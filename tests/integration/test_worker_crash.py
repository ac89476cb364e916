"""Two worker processes share the partitions; one killed with SIGKILL mid-run loses and repeats nothing.

The killed worker leaves attempts recorded and offsets uncommitted; after the rebalance the other
worker receives those dispatches again, asks the provider for each attempted step by its key, and
records what was already sent instead of sending it twice. Bounded: 200 sends in 2 minutes at
most, and 10,000 sends (the killed worker halfway through them) in 5 minutes at most, where every
credit reserved is found consumed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from domain.credit_ledger import Plan
from tests.support import Client, contacts, eventually, production_settings, running_service

CONTACTS = 200


def start_worker(
    database_url: str, kafka: str, prefix: str, log: Path, secrets: dict[str, str], batch: int = 25
) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "KAFKA_TOPIC_PREFIX": prefix,
        "SANDBOX_DELAY_MS": "15",
        "BATCH_SIZE": str(batch),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        **secrets,
    }
    with log.open("w") as output:  # a file, not a pipe: a full pipe would stall the worker
        worker = subprocess.Popen(
            [sys.executable, "-m", "runtime.cli", "worker", "--channel", "email"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    eventually(lambda: "running email_worker" in log.read_text() or worker.poll() is not None, timeout=60)
    assert worker.poll() is None, log.read_text()
    return worker


@contextmanager
def two_workers(
    database_url: str, kafka: str, folder: Path, batch: int
) -> Iterator[tuple[Any, list[subprocess.Popen]]]:
    """The service with every role but the send workers in this process, and two email workers as
    processes of their own sharing the partitions; the workers are stopped on the way out."""
    roles = ("projector", "relays", "enroller", "follow_ups", "settlement")
    # One deployment, one CREDENTIALS_KEY: the enroller seals each contact's key with it (decision
    # record 27), and a worker with a key of its own could open none of them.
    secrets = production_settings()
    key = secrets["CREDENTIALS_KEY"]
    with running_service(database_url, kafka=kafka, roles=roles, credentials_key=key) as service:
        prefix = service.settings.kafka_topic_prefix
        logs = [folder / f"worker{i}.log" for i in range(2)]
        workers = [start_worker(database_url, kafka, prefix, log, secrets, batch) for log in logs]
        try:
            yield service, workers
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.terminate()
                    worker.wait(timeout=30)


def kill_first(workers: list[subprocess.Popen]) -> None:
    workers[0].send_signal(signal.SIGKILL)
    assert workers[0].wait(timeout=10) == -signal.SIGKILL


def test_killing_one_of_two_workers_mid_run_loses_no_send_and_duplicates_none(
    database_url, kafka_bootstrap, tmp_path
):
    with two_workers(database_url, kafka_bootstrap, tmp_path, batch=25) as (service, workers):
        client = Client(service)
        client.sender("email", "sales@brand.example", daily_limit=10_000)
        group = client.lead_group(contacts(CONTACTS, phones=False))
        campaign_id = client.campaign(group, [{"type": "EMAIL", "group": 0, "subject": "s", "body": "b"}])
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))

        eventually(lambda: len(client.outbox(campaign_id)) >= CONTACTS // 5, timeout=60)
        kill_first(workers)
        sent_before_kill_done = len(client.outbox(campaign_id))
        assert sent_before_kill_done < CONTACTS  # the kill landed mid-run

        def all_sent():
            detail = client.ok(client.get(f"/v1/campaign/{campaign_id}"))
            return detail["metrics"]["sent"]["email"] == CONTACTS and detail

        detail = eventually(all_sent, timeout=120)
        outbox = client.outbox(campaign_id)
        per_contact = Counter(item["contact_id"] for item in outbox)
        assert len(outbox) == CONTACTS
        assert set(per_contact.values()) == {1}
        assert detail["metrics"]["failed"] == 0
        assert workers[1].poll() is None  # the survivor kept running


@pytest.mark.timeout(300)
def test_ten_thousand_sends_with_a_worker_killed_halfway_are_each_sent_once_and_every_credit_consumed(
    database_url, kafka_bootstrap, tmp_path
):
    many = 10_000
    with two_workers(database_url, kafka_bootstrap, tmp_path, batch=200) as (service, workers):
        client = Client(service, Plan.PREMIUM)
        client.sender("email", "sales@brand.example", daily_limit=2 * many)
        people = contacts(many, phones=False)
        group = client.lead_group(people[: many // 2])
        client.ok(client.post(f"/v1/lead-groups/{group}/contacts", {"contacts": people[many // 2 :]}))
        campaign_id = client.campaign(group, [{"type": "EMAIL", "group": 0, "subject": "s", "body": "b"}])
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))

        def sent_so_far() -> int:
            row = service.db.fetch_one(
                "SELECT count(*) AS n FROM sandbox_outbox WHERE campaign_id = %s", (campaign_id,)
            )
            return int(row["n"]) if row else 0

        eventually(lambda: sent_so_far() >= many // 2, timeout=180, interval=0.02)
        kill_first(workers)
        assert sent_so_far() < many  # the kill landed mid-run

        def settled():
            detail = client.ok(client.get(f"/v1/campaign/{campaign_id}"))
            return detail["credits"]["outstanding"] == 0 and detail

        detail = eventually(settled, timeout=240, interval=0.5)
        assert detail["metrics"]["sent"]["email"] == many and detail["metrics"]["failed"] == 0
        assert detail["credits"] == {"reserved": many, "consumed": many, "released": 0, "outstanding": 0}
        twice = service.db.fetch_all(
            """SELECT contact_id, count(*) AS n FROM sandbox_outbox WHERE campaign_id = %s
               GROUP BY contact_id HAVING count(*) > 1""",
            (campaign_id,),
        )
        assert twice == [] and sent_so_far() == many
        assert workers[1].poll() is None  # the survivor kept running
