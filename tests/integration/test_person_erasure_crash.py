"""Erasure killed with SIGKILL at each of its steps, then run again, ends as an uninterrupted one.

`campaign-service contacts erase` runs as a child process. The test stops it at a known point
without touching its code: its own connection holds a lock on what the step writes next (an
uncommitted suppression of the person's second address, the events table, a key's row, the contact
row), waits until the child's statement is blocked on that lock (pg_blocking_pids), kills the child with
SIGKILL, ends the child's server session (a killed client's statement would otherwise still run
once the lock is released: the crash point would not be known), and releases the lock. The command
run again must answer `first_time: true` (the first call did not finish) and leave the person
suppressed by keyed hash, their erasure recorded once, their keys destroyed, none of their values
anywhere, their pending step cancelled and its credit released once, both audits passing; a
third call answers `first_time: false`.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
from cryptography.fernet import Fernet
from psycopg import sql

from commands.audience.suppressions import consent_ids
from domain.erasure import PersonErasure
from runtime.service import Service
from storage.event_log import events_table
from tests.personal_data import ANN, ANN_VALUES, BOB, STEPS, values_found
from tests.support import Client, eventually, running_service

CLI = str(Path(sys.executable).with_name("campaign-service"))
ANN_EMAIL, ANN_PHONE = ANN_VALUES[0], ANN_VALUES[1]
CHILD = "erasure-under-test"
NOBODY = "zyxnobody.quokka@example.com"  # an address no contact has
# A step two days on, still pending when the person is erased: its credit is released.
LATER = [
    {"type": "WAIT", "group": 1, "wait_days": 2},
    {"type": "EMAIL", "group": 1, "subject": "Re", "body": "Again"},
]


@dataclass
class Scene:
    """A campaign sent to Ann and Bob, its figures before any erasure, and the child's settings."""

    database_url: str
    service: Service
    client: Client
    campaign_id: str
    before: dict[str, Any]
    ann: UUID
    env: dict[str, str]
    log: Path
    address: str = ANN_PHONE  # the address the erasure is asked for

    def erase(self) -> dict[str, Any]:
        """`contacts erase` run to its end in a child process: its answer."""
        done = self.run("contacts", "erase", "--brand", str(self.client.brand_id), "--address", self.address)
        answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return answer

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([CLI, *args], env=self.env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done

    def figures(self) -> tuple[Any, Any]:
        detail = self.client.ok(self.client.get(f"/v1/campaign/{self.campaign_id}"))
        return detail["metrics"], detail["credits"]


@contextmanager
def scene(database_url: str, tmp_path: Path) -> Iterator[Scene]:
    key = Fernet.generate_key().decode()
    with running_service(database_url, credentials_key=key) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        client.sender("sms", "+14155550199")
        campaign_id = client.campaign(client.lead_group([ANN, BOB]), [*STEPS, *LATER])
        client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
        detail = eventually(
            lambda: (
                (d := client.ok(client.get(f"/v1/campaign/{campaign_id}")))["credits"]["consumed"] == 4 and d
            )
        )
        ann = service.db.fetch_one(
            "SELECT id FROM contacts WHERE brand_id = %s AND email = %s", (client.brand_id, ANN_EMAIL)
        )
        assert ann is not None
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CREDENTIALS_KEY": key,
            "UNSUBSCRIBE_SECRET": f"unsubscribe-{uuid4().hex}",
            "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
            "LOG_LEVEL": "WARNING",
            "PGAPPNAME": CHILD,  # libpq's: the child's sessions are told from the service's by it
        }
        yield Scene(
            database_url,
            service,
            client,
            campaign_id,
            {"metrics": detail["metrics"], "credits": detail["credits"]},
            ann["id"],
            env,
            tmp_path / "erase.log",
        )


@dataclass(frozen=True)
class Lock:
    """A statement that takes a lock in the test's own transaction, and the start of the child's
    statement that it blocks (`waits_in`, matched in pg_stat_activity)."""

    statement: str | sql.Composed
    params: tuple[Any, ...]
    waits_in: str


def kill_erasure_blocked_on(scene: Scene, *locks: Lock) -> None:
    """Start the erasure with the first lock held; once the child is blocked on one lock, take the
    next and release the one before (a lock the child's start-up would wait on too is reached this
    way); blocked on the last, SIGKILL the child, end its server session, release the lock."""
    with contextlib.ExitStack() as held, psycopg.connect(scene.database_url, autocommit=True) as watcher:
        holder = held.enter_context(psycopg.connect(scene.database_url))
        holder.execute(locks[0].statement, locks[0].params)
        with scene.log.open("w") as log:
            child = subprocess.Popen(
                [CLI, "contacts", "erase", "--brand", str(scene.client.brand_id), "--address", scene.address],
                env=scene.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        held.callback(lambda: child.poll() is None and (child.kill(), child.wait(timeout=10)))

        def blocked_by(holder: psycopg.Connection[Any], lock: Lock) -> int:
            def blocked() -> int | None:
                row = watcher.execute(
                    """SELECT pid FROM pg_stat_activity WHERE application_name = %s
                         AND %s = ANY(pg_blocking_pids(pid)) AND query ILIKE %s""",
                    (CHILD, holder.info.backend_pid, f"%{lock.waits_in}%"),
                ).fetchone()
                return row[0] if row else (-1 if child.poll() is not None else None)

            session = eventually(blocked, timeout=30)
            assert session != -1, f"the erasure ended before the crash point: {scene.log.read_text()}"
            return session

        for before, lock in itertools.pairwise(locks):
            blocked_by(holder, before)
            following = held.enter_context(psycopg.connect(scene.database_url))
            following.execute(lock.statement, lock.params)
            holder.rollback()
            holder = following
        session = blocked_by(holder, locks[-1])
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
        watcher.execute("SELECT pg_terminate_backend(%s)", (session,))
        eventually(
            lambda: (
                watcher.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (session,)).fetchone()
                is None
            )
        )
        holder.rollback()


def suppression_held(scene: Scene, address: str) -> Lock:
    """An uncommitted suppression of the address: the child's insert of the same one waits on it."""
    return Lock(
        "INSERT INTO suppressions (brand_id, address, reason, created_at) VALUES (%s, %s, 'held', now())",
        (scene.client.brand_id, address),
        "INSERT INTO suppressions",
    )


def erasures_recorded(scene: Scene) -> int:
    row = scene.service.db.fetch_one(
        sql.SQL("SELECT count(*) AS n FROM {} WHERE topic LIKE %s").format(events_table(scene.service.store)),
        ("%PersonErased",),
    )
    return int(row["n"]) if row else 0


def keys_destroyed(scene: Scene) -> bool:
    seal = scene.service.store.personal_data
    assert seal is not None
    brand = scene.client.brand_id
    keys = {scene.ann} | {
        c for a in (ANN_EMAIL, ANN_PHONE) for c in consent_ids(scene.service.store, brand, a)
    }
    return seal.erased(keys) == keys


def assert_finished_as_if_never_interrupted(scene: Scene) -> None:
    answer = scene.erase()
    assert answer == {"contact_ids": [str(scene.ann)], "addresses": 2, "erased": True, "first_time": True}
    assert scene.erase()["first_time"] is False  # now it was finished before

    seal = scene.service.store.personal_data
    assert seal is not None
    brand = scene.client.brand_id
    for address in (ANN_EMAIL, ANN_PHONE):
        entries = scene.service.db.fetch_all(
            "SELECT address FROM suppressions WHERE brand_id = %s AND address_hash = %s",
            (brand, seal.address_hash(brand, address)),
        )
        assert [e["address"].startswith("erased-") for e in entries] == [True]
    assert erasures_recorded(scene) == 1
    recorded = list(scene.service.store.events.get(PersonErasure.create_id(brand, str(scene.ann))))
    assert [(type(e).__name__, e.contact_id) for e in recorded] == [("PersonErased", scene.ann)]
    assert keys_destroyed(scene)
    assert values_found(scene.database_url, ANN_VALUES) == []
    kept = scene.service.db.fetch_all("SELECT email FROM contacts WHERE brand_id = %s", (brand,))
    assert [c["email"] for c in kept] == [BOB["email"]]
    # Ann's pending step cancelled and its credit released, once; Bob's still pending.
    metrics, credits = scene.before["metrics"], scene.before["credits"]
    expected = (
        {**metrics, "cancelled": metrics["cancelled"] + 1},
        {**credits, "released": credits["released"] + 1, "outstanding": credits["outstanding"] - 1},
    )
    eventually(lambda: scene.figures() == expected)
    scene.run("audit", "credits", "--brand", str(brand))
    scene.run("audit", "consent", "--brand", str(brand))


def test_erasure_killed_between_suppressing_two_addresses_is_finished_by_the_next_call(
    database_url, tmp_path: Path
):
    with scene(database_url, tmp_path) as s:
        # The phone is suppressed first (addresses in order); the email's insert waits on ours.
        kill_erasure_blocked_on(s, suppression_held(s, ANN_EMAIL))
        suppressed = s.service.db.fetch_all(
            "SELECT address FROM suppressions WHERE brand_id = %s", (s.client.brand_id,)
        )
        assert [row["address"] for row in suppressed] == [ANN_PHONE]  # killed mid-step
        assert erasures_recorded(s) == 0
        assert_finished_as_if_never_interrupted(s)


def test_erasure_killed_between_suppressing_an_address_and_withdrawing_its_steps_is_finished_by_the_next_call(
    database_url, tmp_path: Path
):
    with scene(database_url, tmp_path) as s:
        # Every event write takes the events table's lock first, and so does the child's start-up
        # (it makes sure of the table's indexes): held once the child waits on the email's
        # suppression, it stops the child after that insert, at the email consent's event, before
        # the email's pending step is withdrawn.
        events = sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(events_table(s.service.store))
        kill_erasure_blocked_on(s, suppression_held(s, ANN_EMAIL), Lock(events, (), "LOCK TABLE"))
        suppressed = s.service.db.fetch_all(
            "SELECT address FROM suppressions WHERE brand_id = %s ORDER BY address", (s.client.brand_id,)
        )
        assert [row["address"] for row in suppressed] == [ANN_PHONE, ANN_EMAIL]
        assert s.service.store.get_many(consent_ids(s.service.store, s.client.brand_id, ANN_EMAIL)) == {}
        assert s.figures() == (s.before["metrics"], s.before["credits"])  # nothing withdrawn yet
        assert_finished_as_if_never_interrupted(s)


def test_erasure_killed_after_recording_it_but_before_destroying_the_keys_is_finished_by_the_next_call(
    database_url, tmp_path: Path
):
    with scene(database_url, tmp_path) as s:
        key = "SELECT 1 FROM personal_data_keys WHERE key_id = %s FOR UPDATE"
        kill_erasure_blocked_on(s, Lock(key, (s.ann,), "INSERT INTO personal_data_keys"))
        assert erasures_recorded(s) == 1
        assert not keys_destroyed(s)
        assert_finished_as_if_never_interrupted(s)


def test_erasure_killed_while_blanking_the_tables_is_finished_by_the_next_call(database_url, tmp_path: Path):
    with scene(database_url, tmp_path) as s:
        # The contact row goes last, in the one transaction that blanks every table.
        kill_erasure_blocked_on(
            s, Lock("SELECT 1 FROM contacts WHERE id = %s FOR UPDATE", (s.ann,), "DELETE FROM contacts")
        )
        assert keys_destroyed(s)
        assert values_found(s.database_url, ANN_VALUES)  # the tables still hold them
        assert_finished_as_if_never_interrupted(s)


def test_erasure_of_an_address_nobody_has_killed_before_destroying_its_key_is_finished_by_the_next_call(
    database_url, tmp_path: Path
):
    """Nobody's contact: the erasure is recorded under the address's keyed hash, and its consent's
    key (made when the address was suppressed before) is the one destroyed."""
    with scene(database_url, tmp_path) as ann_scene:
        s = replace(ann_scene, address=NOBODY)
        store, brand = s.service.store, s.client.brand_id
        s.client.ok(s.client.post("/v1/suppressions", {"address": NOBODY, "reason": "asked"}), 201)
        consents = set(consent_ids(store, brand, NOBODY))
        key = "SELECT 1 FROM personal_data_keys WHERE key_id = ANY(%s) FOR UPDATE"
        kill_erasure_blocked_on(s, Lock(key, (list(consents),), "INSERT INTO personal_data_keys"))
        assert erasures_recorded(s) == 1
        seal = store.personal_data
        assert seal is not None
        assert seal.erased(consents) == set()

        assert s.erase() == {"contact_ids": [], "addresses": 1, "erased": True, "first_time": True}
        assert s.erase()["first_time"] is False
        hashed = seal.address_hash(brand, NOBODY)
        entries = s.service.db.fetch_all(
            "SELECT address FROM suppressions WHERE brand_id = %s AND address_hash = %s", (brand, hashed)
        )
        assert [e["address"].startswith("erased-") for e in entries] == [True]
        recorded = list(store.events.get(PersonErasure.create_id(brand, f"hmac:{hashed}")))
        assert [(type(e).__name__, e.contact_id) for e in recorded] == [("PersonErased", None)]
        assert erasures_recorded(s) == 1
        assert seal.erased(consents) == consents
        assert values_found(s.database_url, [NOBODY]) == []
        s.run("audit", "consent", "--brand", str(brand))
