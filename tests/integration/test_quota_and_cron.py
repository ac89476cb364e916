"""Quotas under concurrency, the daily reset, and the follow-up processor run twice at once."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import psycopg
import pytest

from commands.campaigns.campaign_lifecycle import pause_campaign, resume_campaign
from commands.campaigns.launch_campaign import launch_campaign
from commands.sending.claim_senders import claim_senders, give_back
from commands.sending.daily_reset import reset_daily_quotas
from commands.sending.dispatch_due_steps import dispatch_due_steps
from commands.sending.enroll_contacts import enroll_next_chunk
from domain.enrollment import Enrollment, dispatched_steps
from storage import parked
from storage.database import Database
from tests.support import Client, contacts, running_service


def claim_one(db, brand_id):
    """One send's quota for a new contact, as the send path takes it for a batch of one."""
    contact = uuid4()
    return claim_senders(db, brand_id, "email", [contact])[contact]


LIMITS = {"a@brand.example": 5, "b@brand.example": 7, "c@brand.example": 3}


def test_many_concurrent_workers_never_push_an_account_past_its_limit(database_url):
    with running_service(database_url, roles=()) as service:
        client = Client(service)
        ids = {
            client.sender("email", address, daily_limit=limit)["id"]: limit
            for address, limit in LIMITS.items()
        }
        claims: Counter[str] = Counter()
        lock = threading.Lock()
        start = threading.Barrier(8)

        def worker() -> None:
            start.wait()
            for _ in range(10):
                taken = claim_one(service.db, client.brand_id)
                if taken is not None:
                    with lock:
                        claims[str(taken.id)] += 1

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert claims == Counter(ids)  # 80 tries for 15 sends: every account exactly full
        rows = service.db.fetch_all("SELECT id, sends_today, limit_today FROM sender_accounts")
        assert all(row["sends_today"] == row["limit_today"] == ids[str(row["id"])] for row in rows)
        assert claim_one(service.db, client.brand_id) is None
        give_back(service.db, UUID(next(iter(ids))))
        assert claim_one(service.db, client.brand_id) is not None


def test_the_daily_reset_is_idempotent_and_advances_warmup(database_url, caplog):
    with running_service(database_url, roles=()) as service:
        client = Client(service)
        body = {
            "channel": "email",
            "provider": "sandbox",
            "address": "warm@brand.example",
            "daily_limit": 20,
            "warmup": {"enabled": True, "start_limit": 4, "daily_increment": 3},
        }
        client.ok(client.post("/v1/sender-accounts", body), 201)
        for _ in range(4):
            claim_one(service.db, client.brand_id)
        # The day after the one PostgreSQL stamped on the account: a clock read after the account
        # was created may already be a day on (past midnight), and the reset would count two days.
        created = service.db.fetch_one("SELECT last_reset_on FROM sender_accounts")["last_reset_on"]
        tomorrow = datetime.combine(created + timedelta(days=1), datetime.min.time(), UTC)

        with caplog.at_level(logging.WARNING, logger="commands.sending.daily_reset"):
            assert reset_daily_quotas(service.db, tomorrow) == 1
            assert reset_daily_quotas(service.db, tomorrow) == 0  # the second run changes nothing
        assert "one by one" not in caplog.text  # one statement reset every account
        row = service.db.fetch_one("SELECT sends_today, limit_today, warmup_day FROM sender_accounts")
        assert row == {"sends_today": 0, "limit_today": 7, "warmup_day": 1}
        assert reset_daily_quotas(service.db, tomorrow + timedelta(days=3)) == 1
        row = service.db.fetch_one("SELECT limit_today, warmup_day FROM sender_accounts")
        assert row == {"limit_today": 16, "warmup_day": 4}  # days while down count too


def test_two_follow_up_processors_at_once_dispatch_each_step_once(database_url):
    with running_service(database_url, roles=("projector",)) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        group = client.lead_group(contacts(40, phones=False))
        campaign_id = UUID(
            client.campaign(group, [{"type": "EMAIL", "group": 0, "subject": "s", "body": "b"}])
        )
        now = service.clock.now()
        launch_campaign(service.store, service.db, client.brand_id, campaign_id, now)
        # Enrolled while paused, the contacts' first steps wait for the follow-up processor.
        pause_campaign(service.store, client.brand_id, campaign_id, now)
        assert enroll_next_chunk(service.store, service.db, campaign_id, now) == 40
        resume_campaign(service.store, client.brand_id, campaign_id, now)
        audience = service.db.fetch_all("SELECT contact_id FROM launch_audiences")
        ids = [Enrollment.create_id(campaign_id, row["contact_id"]) for row in audience]
        results: list[int] = []
        start = threading.Barrier(2)

        def processor() -> None:
            start.wait()
            results.append(dispatch_due_steps(service.store, ids, now))

        threads = [threading.Thread(target=processor) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert sorted(results) == [0, 40]  # one wins; the other re-checks and finds nothing due
        dispatched = [step for i in ids for e in service.store.events.get(i) for step in dispatched_steps(e)]
        assert len(dispatched) == 40
        assert dispatch_due_steps(service.store, ids, now) == 0  # and a third run changes nothing


def test_the_daily_reset_counts_days_in_utc_whatever_the_servers_own_zone(database_url, monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # where 23:30 UTC is already tomorrow
    time.tzset()
    try:
        with running_service(database_url, roles=()) as service:
            client = Client(service)
            body = {
                "channel": "email",
                "provider": "sandbox",
                "address": "warm@brand.example",
                "daily_limit": 1000,
                "warmup": {"enabled": True, "start_limit": 10, "daily_increment": 1},
            }
            client.ok(client.post("/v1/sender-accounts", body), 201)
            created = service.db.fetch_one("SELECT last_reset_on FROM sender_accounts")["last_reset_on"]
            late = datetime.combine(created + timedelta(days=2), datetime.min.time(), UTC) + timedelta(
                hours=23, minutes=30
            )
            assert reset_daily_quotas(service.db, late) == 1
            row = service.db.fetch_one("SELECT warmup_day, limit_today, last_reset_on FROM sender_accounts")
            assert row == {"warmup_day": 2, "limit_today": 12, "last_reset_on": created + timedelta(days=2)}
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_reset_that_waits_too_long_for_a_lock_is_left_whole_to_the_next_run(database_url, caplog):
    """A lock timeout is nobody's fault: the run fails as a whole and is tried again, with no
    account reset one by one or parked for it."""
    with running_service(database_url, roles=()) as service:
        account = Client(service).sender("email", "sales@brand.example")
        service.db.execute("UPDATE sender_accounts SET sends_today = 3")
        tomorrow = datetime.now(UTC) + timedelta(days=1)
        impatient = Database(psycopg.conninfo.make_conninfo(database_url, options="-c lock_timeout=200"))
        try:
            with psycopg.connect(database_url) as holder:  # a transaction holding the account's row
                holder.execute("SELECT 1 FROM sender_accounts WHERE id = %s FOR UPDATE", (account["id"],))
                warnings = caplog.at_level(logging.WARNING, logger="commands.sending.daily_reset")
                with warnings, pytest.raises(psycopg.errors.LockNotAvailable):
                    reset_daily_quotas(impatient, tomorrow)
                holder.rollback()
        finally:
            impatient.close()
        assert "one by one" not in caplog.text
        assert parked.listing(service.db, "daily_reset") == []
        assert reset_daily_quotas(service.db, tomorrow) == 1  # the next run resets it
        assert service.db.fetch_one("SELECT sends_today FROM sender_accounts") == {"sends_today": 0}
