"""A replay rebuilds into copies and swaps them in: the API keeps answering throughout, never from
an empty read model, and the rebuilt read models equal the ones they replace."""

from __future__ import annotations

import threading

import psycopg
import pytest

from domain.credit_ledger import CreditLedger
from projections.rebuild_helper import HelperFailed
from projections.shadow_rebuild import RebuildRunning, rebuild
from runtime.bootstrap import PROJECTIONS
from tests.support import Client, contacts, eventually, running_service

STEPS = [
    {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"},
    {"type": "SMS", "group": 1, "body": "Later"},
]
SNAPSHOTS = {
    "campaign_summaries": "SELECT * FROM campaign_summaries ORDER BY id",
    "due_steps": "SELECT * FROM due_steps ORDER BY enrollment_id",
    "steps_in_flight": "SELECT * FROM steps_in_flight ORDER BY enrollment_id, step_id",
}


def snapshot(db) -> dict[str, list[dict]]:
    """The read models' rows, and their tables' indexes (same names, or a later migration's
    `CREATE INDEX IF NOT EXISTS` would add a second one)."""
    rows = {table: db.fetch_all(query) for table, query in SNAPSHOTS.items()}
    indexes = db.fetch_all(
        """SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
            AND tablename = ANY(%s) ORDER BY indexname""",
        (list(SNAPSHOTS),),
    )
    return {**rows, "indexes": indexes}


def test_reads_never_fail_nor_see_an_empty_read_model_during_a_replay(database_url):
    with running_service(database_url) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        client.sender("sms", "+14155550000")
        campaign_id = client.campaign(client.lead_group(contacts(15)), STEPS)
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        # Group 1 waits a day: the emails are sent and settled, the SMS steps stay due.
        before = eventually(
            lambda: (
                (d := client.ok(client.get(f"/v1/campaign/{campaign_id}")))["credits"]["consumed"] == 15 and d
            )
        )
        listing = client.ok(client.get("/v1/campaign/"))
        tables = snapshot(service.db)
        assert len(tables["due_steps"]) == 15

        replaying = threading.Event()
        seen: list[str] = []
        reads_while_replaying = 0

        def read_all_along() -> None:
            nonlocal reads_while_replaying
            while replaying.is_set():
                detail = client.get(f"/v1/campaign/{campaign_id}")
                page = client.get("/v1/campaign/")
                due = service.db.fetch_one("SELECT count(*) AS n FROM due_steps")["n"]
                if detail.status_code != 200 or detail.json() != before:
                    seen.append(f"detail {detail.status_code}: {detail.text[:200]}")
                if page.status_code != 200 or page.json() != listing:
                    seen.append(f"listing {page.status_code}: {page.text[:200]}")
                if due != 15:
                    seen.append(f"due_steps has {due} rows")
                reads_while_replaying += 1

        def slowly(done: int, head: int) -> None:  # many small batches: reads interleave with each
            threading.Event().wait(0.01)

        replaying.set()
        reader = threading.Thread(target=read_all_along)
        reader.start()
        try:
            through = rebuild(service.store, service.db, PROJECTIONS, batch_size=5, progress=slowly)
        finally:
            replaying.clear()
            reader.join()

        assert seen == []
        assert reads_while_replaying > 10
        head = service.store.recorder.max_notification_id()
        assert through == {projection.name: head for projection in PROJECTIONS}
        assert snapshot(service.db) == tables
        assert client.ok(client.get(f"/v1/campaign/{campaign_id}")) == before
        # The live runner goes on from the swapped-in tables and position.
        client.ok(client.post(f"/v1/campaign/{campaign_id}/pause"))
        eventually(lambda: client.ok(client.get(f"/v1/campaign/{campaign_id}"))["status"] == "PAUSED")
        leftovers = service.db.fetch_all(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rebuild_%' OR nspname LIKE 'retired_%'"
        )
        assert leftovers == []


class GrantsLog:
    """A read model with a serial key and an index of its own: one row per grant."""

    name = "grants_log"
    tables = ("grants_log",)
    events = (CreditLedger.CreditsGranted,)

    def reset(self, cur) -> None:
        cur.execute("DELETE FROM grants_log")

    def apply(self, cur, events) -> None:
        cur.executemany("INSERT INTO grants_log (amount) VALUES (%s)", [(e.amount,) for _, e in events])


def test_a_read_model_with_a_serial_key_keeps_its_sequence_and_index_names(database_url):
    with running_service(database_url, roles=()) as service:
        service.db.execute(
            """CREATE TABLE grants_log (id bigserial PRIMARY KEY, amount int NOT NULL);
               CREATE INDEX grants_log_amount ON grants_log (amount)"""
        )
        Client(service)
        Client(service)
        for _ in range(2):
            rebuild(service.store, service.db, [GrantsLog()])
            service.db.execute("INSERT INTO grants_log (amount) VALUES (7)")  # the sequence still works
        rows = service.db.fetch_all("SELECT id, amount FROM grants_log ORDER BY id")
        assert [row["amount"] for row in rows] == [1000, 1000, 7]
        assert rows[-1]["id"] > rows[0]["id"]
        indexes = service.db.fetch_all("SELECT indexname FROM pg_indexes WHERE tablename = 'grants_log'")
        assert sorted(i["indexname"] for i in indexes) == ["grants_log_amount", "grants_log_pkey"]


def test_a_second_replay_of_the_same_read_model_is_refused_and_a_failed_one_leaves_the_live_one(
    database_url,
):
    with running_service(database_url, roles=()) as service:
        Client(service)
        with psycopg.connect(database_url, autocommit=True) as other:
            other.execute("SELECT pg_advisory_lock(hashtext('rebuild:campaign_summaries'))")
            with pytest.raises(RebuildRunning, match="campaign_summaries is already running"):
                rebuild(service.store, service.db, PROJECTIONS)

        class Failing(GrantsLog):
            def apply(self, cur, events) -> None:
                raise psycopg.OperationalError("the database went away")

        service.db.execute("CREATE TABLE grants_log (id bigserial PRIMARY KEY, amount int NOT NULL)")
        service.db.execute("INSERT INTO grants_log (amount) VALUES (1)")
        with pytest.raises(psycopg.OperationalError):
            rebuild(service.store, service.db, [Failing()])
        assert service.db.fetch_all("SELECT amount FROM grants_log") == [{"amount": 1}]
        assert service.db.fetch_all("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rebuild_%'") == []


def _unreachable_store():
    """A helper process's opener that cannot reach the database (run in the helper process)."""
    raise psycopg.OperationalError("the helper cannot reach the database")


def test_a_replay_whose_helper_process_fails_leaves_every_live_read_model(database_url):
    with running_service(database_url, roles=()) as service:
        Client(service)
        live = snapshot(service.db)
        with pytest.raises(HelperFailed, match="the helper cannot reach the database"):
            rebuild(service.store, service.db, PROJECTIONS, helper=_unreachable_store)
        assert snapshot(service.db) == live
        assert service.db.fetch_all("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rebuild_%'") == []
