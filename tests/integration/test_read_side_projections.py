"""The read side on real PostgreSQL: step executions, campaign leads and the credit ledger with its
running balance follow a campaign's sends, failures and withdrawals, and `campaign-service replay`
empties and rebuilds them row for row, whatever the batch size."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from uuid import UUID, uuid4

import psycopg

from domain.credit_ledger import CreditLedger, Plan
from projections.consumption_steps import consumption
from projections.runner import ReadModelRunner
from projections.shadow_rebuild import rebuild
from runtime.bootstrap import PROJECTIONS
from storage import parked
from tests.support import Client, contacts, eventually, running_service

STEPS = [
    {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"},
    {"type": "SMS", "group": 0, "body": "Hello"},
    {"type": "EMAIL", "group": 1, "subject": "Again", "body": "Hello again"},
]
READ_SIDE = ("step_executions", "campaign_leads", "credit_ledger_entries")
FAILING = {"email": "fail-permanent@example.com", "first_name": "Fay"}


def _rows(service, table: str) -> list[dict]:
    order = {
        "step_executions": "enrollment_id, step_id",
        "campaign_leads": "enrollment_id",
        "credit_ledger_entries": "position",
    }
    return service.db.fetch_all(f"SELECT * FROM {table} ORDER BY {order[table]}")


def _launched(client: Client) -> tuple[str, dict[str, str]]:
    client.sender("email", "sales@brand.example")
    client.sender("sms", "+14155550000")
    group = client.lead_group([*contacts(2), FAILING])
    campaign_id = client.campaign(group, STEPS)
    steps = client.ok(client.get(f"/v1/campaign/{campaign_id}"))["steps"]
    ids = {f"{s['type']}{s['group']}": s["id"] for s in steps}
    client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
    return campaign_id, ids


def _group_zero_done(service, campaign_id: str) -> list[dict]:
    rows = service.db.fetch_all(
        "SELECT * FROM step_executions WHERE campaign_id = %s ORDER BY contact_id, step_group, type",
        (campaign_id,),
    )
    done = len(rows) == 8 and all(r["status"] in ("sent", "failed") for r in rows if r["step_group"] == 0)
    return rows if done else []


def test_executions_leads_and_ledger_follow_a_campaign_and_a_replay_rebuilds_them(database_url):
    with running_service(database_url) as service:
        client = Client(service)
        campaign_id, ids = _launched(client)
        rows = eventually(lambda: _group_zero_done(service, campaign_id))

        by_step: dict[str, list[dict]] = {}
        for row in rows:
            by_step.setdefault(row["step_id"], []).append(row)
        assert {k: len(v) for k, v in by_step.items()} == {ids["EMAIL0"]: 3, ids["SMS0"]: 2, ids["EMAIL1"]: 3}
        sent = [r for r in rows if r["status"] == "sent"]
        assert len(sent) == 4 and all(r["provider_message_id"] and r["sent_at"] for r in sent)
        assert all(r["sender_account_id"] for r in sent) and all(r["error"] is None for r in sent)
        (failed,) = [r for r in rows if r["status"] == "failed"]
        assert failed["type"] == "EMAIL" and failed["error"] and failed["sender_account_id"]
        follow_ups = by_step[ids["EMAIL1"]]
        assert {r["status"] for r in follow_ups} == {"pending"}
        for row in follow_ups:  # group 1 is due a day after the contact finished group 0
            assert timedelta(hours=23) < row["scheduled_for"] - row["created_at"] < timedelta(hours=25)

        leads = eventually(lambda: _leads_in_group_one(service, campaign_id))
        assert len(leads) == 3 and all(lead["state"] == "active" for lead in leads)
        assert not any(lead["replied"] or lead["unsubscribed"] for lead in leads)
        due = {lead["contact_id"]: lead["next_due_at"] for lead in leads}
        assert due == {r["contact_id"]: r["scheduled_for"] for r in follow_ups}

        # A suppressed address withdraws its unsent follow-up: the lead is unsubscribed.
        client.ok(client.post("/v1/suppressions", {"address": "lead0@example.com"}), 201)
        withdrawn = eventually(lambda: _withdrawn(service, campaign_id))
        assert withdrawn["step_id"] == ids["EMAIL1"] and "suppressed" in withdrawn["error"]
        lead0 = eventually(lambda: _lead(service, withdrawn["enrollment_id"], finished=True))
        assert lead0["unsubscribed"] and lead0["current_group"] is None and lead0["next_due_at"] is None

        ledger = eventually(lambda: _ledger_settled(service, client.brand_id))
        assert [(e["type"], e["amount"], e["balance_after"]) for e in ledger[:2]] == [
            ("granted", 1000, 1000),
            ("reserved", 8, 992),
        ]
        assert ledger[1]["campaign_id"] == UUID(campaign_id) and ledger[0]["reason"] == "plan basic"
        balance = 0
        for entry in ledger:  # the running balance: grants add, reservations take, releases give back
            balance += {"granted": 1, "reserved": -1, "consumed": 0, "released": 1}[entry["type"]] * (
                entry["amount"]
            )
            assert entry["balance_after"] == balance
        assert balance == client.ok(client.get("/v1/credits"))["balance"]
        before = {table: _rows(service, table) for table in READ_SIDE}

    with running_service(database_url, roles=()) as service:  # rows a rebuild must not keep
        service.db.execute("UPDATE step_executions SET status = 'bogus', error = 'stale'")
        service.db.execute("UPDATE campaign_leads SET state = 'finished', unsubscribed = true")
        service.db.execute("UPDATE credit_ledger_entries SET balance_after = -1")
    env = {**os.environ, "DATABASE_URL": database_url}
    replay = subprocess.run(
        [sys.executable, "-m", "runtime.cli", "replay"], env=env, capture_output=True, text=True, timeout=120
    )
    assert replay.returncode == 0, replay.stderr
    for name in READ_SIDE:
        assert f"{name}: rebuilt through log position" in replay.stderr
    with running_service(database_url, roles=()) as service:
        after = {table: _rows(service, table) for table in READ_SIDE}
    assert after == before
    assert all(before.values())


def test_a_rebuild_in_small_batches_gives_the_same_rows(database_url):
    """Batches cut anywhere (an enrollment's events split across them) fold to the same rows."""
    with running_service(database_url) as service:
        client = Client(service)
        campaign_id, _ = _launched(client)
        eventually(lambda: _group_zero_done(service, campaign_id))
        eventually(lambda: _ledger_settled(service, client.brand_id, released=1))
        before = {table: _rows(service, table) for table in READ_SIDE}
    with running_service(database_url, roles=()) as service:
        rebuild(service.store, service.db, [p for p in PROJECTIONS if p.name in READ_SIDE], batch_size=3)
        assert {table: _rows(service, table) for table in READ_SIDE} == before


def _leads_in_group_one(service, campaign_id: str) -> list[dict]:
    rows = service.db.fetch_all("SELECT * FROM campaign_leads WHERE campaign_id = %s", (campaign_id,))
    return rows if len(rows) == 3 and all(row["current_group"] == 1 for row in rows) else []


def _withdrawn(service, campaign_id: str) -> dict | None:
    return service.db.fetch_one(
        "SELECT * FROM step_executions WHERE campaign_id = %s AND status = 'withdrawn'", (campaign_id,)
    )


def _lead(service, enrollment_id: UUID, finished: bool) -> dict | None:
    row = service.db.fetch_one("SELECT * FROM campaign_leads WHERE enrollment_id = %s", (enrollment_id,))
    return row if row and (row["state"] == "finished") == finished else None


def _ledger_settled(service, brand_id: UUID, released: int = 2) -> list[dict]:
    """The brand's entries once the four sends are consumed and the released credits are back."""
    rows = service.db.fetch_all(
        "SELECT * FROM credit_ledger_entries WHERE ledger_id = %s ORDER BY position",
        (CreditLedger.create_id(brand_id),),
    )
    consumed = sum(r["amount"] for r in rows if r["type"] == "consumed")
    return (
        rows
        if consumed == 4 and sum(r["amount"] for r in rows if r["type"] == "released") == released
        else []
    )


def test_a_step_deferred_for_want_of_quota_shows_when_it_is_tried_again(database_url):
    with running_service(database_url) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example", daily_limit=1)
        email = [{"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}]
        campaign_id = client.campaign(client.lead_group(contacts(2, phones=False)), email)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))

        def one_sent_one_deferred() -> list[dict]:
            rows = service.db.fetch_all(
                "SELECT * FROM step_executions WHERE campaign_id = %s ORDER BY status DESC", (campaign_id,)
            )
            deferred = [r["status"] for r in rows] == ["sent", "pending"] and rows[1]["error"]
            return rows if deferred else []

        sent, deferred = eventually(one_sent_one_deferred)
        assert deferred["scheduled_for"] > sent["sent_at"]
        assert deferred["scheduled_for"].astimezone(UTC).time() == clock_time(0, 0)  # the next daily reset
        lead = eventually(
            lambda: _lead_due(service, deferred["enrollment_id"], deferred["scheduled_for"]), timeout=10
        )
        assert (lead["state"], lead["current_group"]) == ("active", 0)


def _lead_due(service, enrollment_id: UUID, due: datetime) -> dict | None:
    row = service.db.fetch_one("SELECT * FROM campaign_leads WHERE enrollment_id = %s", (enrollment_id,))
    return row if row and row["next_due_at"] == due else None


def test_a_consumption_recorded_before_consumptions_kept_their_range_is_never_the_one_asked_for(
    database_url,
):
    """Consumptions recorded before they kept the log position they settled through have 0 for it,
    and which sends they paid for cannot be told: asking for the consumption that settled through 0
    (what the console's page reads a position that is not a number as) finds none, even for a
    campaign that has such a consumption, and the campaign's next consumption starts at the log's
    beginning."""
    with running_service(database_url, roles=()) as service:
        brand, campaign = uuid4(), uuid4()
        now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
        ledger = CreditLedger.open(brand, Plan.BASIC, now)
        ledger.reserve(campaign, 3, now)
        ledger.consume(campaign, 1, now)  # as recorded before `settled_through` was kept
        service.store.save_all([ledger])
        through = service.store.recorder.max_notification_id()
        ledger.consume(campaign, 2, now, settled_through=through)
        service.store.save_all([ledger])
        entries = next(p for p in PROJECTIONS if p.name == "credit_ledger_entries")
        ReadModelRunner(service.store, service.db, entries).catch_up()

        assert consumption(service.store, service.db, brand, campaign, 0) is None
        paid = consumption(service.store, service.db, brand, campaign, through)
        assert paid is not None
        assert (paid.amount, paid.settled_from, paid.settled_through) == (2, 0, through)


def test_a_rebuild_parks_the_event_it_cannot_apply_under_the_read_model_and_applies_the_rest(database_url):
    """What a replay could not apply is there for the operator afterwards, as the live read model's
    parked item (with the brand it belongs to), and every other event is applied around it."""
    with running_service(database_url, roles=()) as service:
        hostile, other = uuid4(), uuid4()
        now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
        poisoned = CreditLedger.open(hostile, Plan.BASIC, now)
        poisoned.grant(2**40, "too much for the column", now)
        service.store.save_all([poisoned, CreditLedger.open(other, Plan.BASIC, now)])
        grant = service.db.fetch_one(
            "SELECT max(notification_id) AS position FROM campaigns_events WHERE originator_id = %s",
            (poisoned.id,),
        )

        entries = next(p for p in PROJECTIONS if p.name == "credit_ledger_entries")
        rebuild(service.store, service.db, [entries])

        [item] = parked.listing(service.db)
        assert (item["follower"], item["item"], item["brand_id"], item["attempts"]) == (
            "projection:credit_ledger_entries",
            str(grant["position"]),
            hostile,
            3,  # tried three times in place (storage/containment.py)
        )
        assert "NumericValueOutOfRange" in item["error"]
        rows = service.db.fetch_all("SELECT ledger_id, type, amount FROM credit_ledger_entries")
        assert sorted((row["ledger_id"] == poisoned.id, row["type"], row["amount"]) for row in rows) == [
            (False, "granted", 1000),
            (True, "granted", 1000),
        ]


def test_a_replay_whose_swap_meets_a_readers_lock_steps_back_and_swaps_on_its_next_try(database_url):
    """A reader in the middle of a query holds the swap off (`SWAP_LOCK_TIMEOUT`): the swap steps
    back rather than hold every later reader behind it, and on its next try applies what was written
    meanwhile and swaps the copies in."""
    with running_service(database_url, roles=()) as service:
        now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
        service.store.save_all([CreditLedger.open(uuid4(), Plan.BASIC, now)])
        entries = next(p for p in PROJECTIONS if p.name == "credit_ledger_entries")
        outcome: list[object] = []

        def replay() -> None:
            try:
                outcome.append(rebuild(service.store, service.db, [entries]))
            except Exception as error:  # the test's thread: told to the test below
                outcome.append(error)

        with psycopg.connect(database_url) as reader:
            reader.execute("SELECT count(*) FROM credit_ledger_entries")  # its transaction stays open
            replaying = threading.Thread(target=replay)
            replaying.start()
            eventually(lambda: _waiting_for_a_lock(service), timeout=30)
            later = CreditLedger.open(uuid4(), Plan.BASIC, now)  # written while the swap waits
            service.store.save_all([later])
            time.sleep(3.5)  # the swap's first try has given up by now (it waits 3 s)
            reader.rollback()
            replaying.join(timeout=60)

        assert outcome == [{"credit_ledger_entries": service.store.recorder.max_notification_id()}]
        rows = service.db.fetch_all("SELECT ledger_id FROM credit_ledger_entries")
        assert len(rows) == 2 and later.id in {row["ledger_id"] for row in rows}


def _waiting_for_a_lock(service) -> bool:
    row = service.db.fetch_one(  # on this test's database: the server is shared
        """SELECT count(*) AS n FROM pg_locks
            WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"""
    )
    return bool(row and row["n"])
