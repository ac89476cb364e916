"""Re-sealing events stored before sealing (`events reseal`, decision record 0028): their addresses
are sealed in place (same aggregate, version and log position), every hash-chain link from them on
is computed again, and each batch is recorded as an EventsResealed event naming the old and new
links and heads. A second run changes nothing; a run stopped part-way finishes on the next; a
writer appending to an aggregate between the read and the write does not break its chain; a row
edited by hand is neither laundered by a reseal nor hidden after one; each brand's hashes are its own.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from cryptography.fernet import Fernet
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from commands.application import CampaignApplication
from commands.personal_data.resealing import brands_to_reseal, reseal_brand
from consumers.timed_jobs import Resealer
from domain.address_consent import AddressConsent
from domain.enrollment import Enrollment
from domain.resealing import EventResealing
from domain.steps import Step, StepType
from storage.compact_states import MARK_HEADED, expanded
from storage.database import event_store_env
from storage.event_chain import first_break
from storage.event_decoding import EventDecoder
from storage.event_log import events_table
from storage.stored_events import aggregate_rows
from tests.stored_rows import edit_states
from tests.support import eventually, running_service

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STEPS = [
    Step("e0", StepType.EMAIL, 0, order=0, subject="Hi", body="Hello"),
    Step("s0", StepType.SMS, 0, order=1, body="Hi"),
]
ADDRESSES = {"email": "ann@example.com", "sms": "+14155550100"}
PLAIN = [b"ann@example.com", b"4155550100", b"bob@example.com"]


def _stored(url: str) -> list[tuple[Any, ...]]:
    """Every row of the event store with its link, in log order."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            """SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, c.chain_hash
                 FROM campaigns_events e JOIN event_chain c USING (originator_id, originator_version)
                ORDER BY e.notification_id"""
        ).fetchall()


def _chain_break(url: str, store: CampaignApplication) -> Any:
    """The first break of any aggregate's chain (the audits' own check), or None."""
    with psycopg.connect(url, autocommit=True) as conn:
        ids = [row[0] for row in conn.execute("SELECT DISTINCT originator_id FROM campaigns_events")]
        return first_break(aggregate_rows(conn, events_table(store), ids))


def _old_history(
    url: str, brand: UUID, address: str = "bob@example.com"
) -> tuple[Enrollment, AddressConsent]:
    """An enrolment stored as v4 and a consent as v1 (plain addresses, no hashes), the consent then
    suppressed and lifted, written as a release before sealing wrote them: with no key."""
    plain = CampaignApplication(env=event_store_env(url))
    enrollment = Enrollment.enroll(uuid4(), brand, uuid4(), dict(ADDRESSES), STEPS, T0)
    assert enrollment is not None
    consent = AddressConsent.open(brand, address, T0)
    for aggregate, version, hashes in ((enrollment, 4, "address_hashes"), (consent, 1, "address_hash")):
        rows = [plain.mapper.to_stored_event(event) for event in aggregate.collect_events()]
        state = plain.mapper.transcoder.decode(expanded(rows[0].state))
        assert state.pop(hashes) is None
        state["class_version"] = version
        if version == 1:
            del state["class_version"]
        plain.recorder.insert_events(
            [dataclasses.replace(rows[0], state=plain.mapper.transcoder.encode(state))]
        )
    consent.suppress("asked", T0)
    consent.lift("START", T0)
    plain.save_all([consent])
    plain.close()
    return enrollment, consent


def _records(store: CampaignApplication, url: str, brand: UUID) -> list[Any]:
    """The brand's EventsResealed events, of every run, in log order."""
    begun = get_topic(EventResealing.ResealingBegun)
    with psycopg.connect(url) as conn:
        runs = conn.execute(
            """SELECT originator_id FROM campaigns_events WHERE topic = %s
                 AND convert_from(state, 'UTF8')::jsonb #>> '{brand_id,_data_}' = %s ORDER BY notification_id""",
            (begun, brand.hex),
        ).fetchall()
    events = [event for (run,) in runs for event in store.events.get(run)]
    return [event for event in events if isinstance(event, EventResealing.EventsResealed)]


def test_old_events_are_sealed_in_place_with_their_chains_relinked_and_the_rewrite_recorded(database_url):
    brand = uuid4()
    enrollment, consent = _old_history(database_url, brand)
    before = _stored(database_url)
    assert all(any(value in bytes(row[4]) for row in before) for value in PLAIN)
    with running_service(database_url, credentials_key=Fernet.generate_key().decode(), roles=()) as service:
        store, seal = service.store, service.store.personal_data
        assert seal is not None
        assert brands_to_reseal(store, database_url) == [brand]

        done = reseal_brand(store, database_url, brand, "cli: test", lambda: T0)

        assert (done.events, done.batches, done.refused) == (2, 1, [])
        after = _stored(database_url)
        rewritten = [row for row in after if row[1] in (enrollment.id, consent.id)]
        assert [row[:4] for row in rewritten] == [row[:4] for row in before]  # same places in the log
        assert not any(value in expanded(bytes(row[4])) for row in after for value in PLAIN)
        # each as it is stored today: the enrolment headed (storage/compact_states.py), the consent JSON
        assert bytes(rewritten[0][4])[:1] == MARK_HEADED
        assert b'"class_version":5' in expanded(bytes(rewritten[0][4]))
        assert b'"class_version":2' in bytes(rewritten[1][4])
        assert _chain_break(database_url, store) is None
        assert brands_to_reseal(store, database_url) == []

        loaded = store.enrollment(enrollment.id)
        assert loaded.addresses == ADDRESSES
        assert loaded.address_hashes == {c: seal.address_hash(brand, a) for c, a in ADDRESSES.items()}
        assert store.find(consent.id).address == "bob@example.com"
        assert store.find(consent.id).suppressed is False

        [record] = _records(store, database_url, brand)
        links = {(row[1], row[2]): bytes(row[5]).hex() for row in before}
        new_links = {(row[1], row[2]): bytes(row[5]).hex() for row in after}
        assert (record.resealed_by, record.resealed_at, done.brand_id) == ("cli: test", T0, brand)
        assert sorted(record.rows, key=lambda r: r["aggregate_id"]) == sorted(
            [
                {
                    "aggregate_id": str(aggregate),
                    "version": 1,
                    "old_link": links[(aggregate, 1)],
                    "new_link": new_links[(aggregate, 1)],
                    "head_version": head,
                    "old_head": links[(aggregate, head)],
                    "new_head": new_links[(aggregate, head)],
                }
                for aggregate, head in ((enrollment.id, 1), (consent.id, 3))
            ],
            key=lambda r: r["aggregate_id"],
        )
        assert links[(consent.id, 3)] != new_links[(consent.id, 3)]  # later versions relinked too

        again = reseal_brand(store, database_url, brand, "cli: test", lambda: T0)
        assert (again.events, again.batches) == (0, 0)
        assert _stored(database_url) == after  # nothing changed the second time
        assert len(_records(store, database_url, brand)) == 1


def test_a_row_edited_by_hand_is_not_resealed_and_still_found_after_a_reseal(database_url):
    brand = uuid4()
    enrollment, consent = _old_history(database_url, brand)
    with psycopg.connect(database_url) as conn:  # tampering before the reseal: its link disagrees
        conn.execute(
            "UPDATE campaigns_events SET state = convert_to(replace(convert_from(state, 'UTF8'), 'bob', 'eve'), 'UTF8') WHERE originator_id = %s AND originator_version = 1",
            (consent.id,),
        )
    with running_service(database_url, credentials_key=Fernet.generate_key().decode(), roles=()) as service:
        store = service.store
        done = reseal_brand(store, database_url, brand, "cli: test", lambda: T0)
        assert done.events == 1 and [b.aggregate_id for b in done.refused] == [consent.id]
        broken = _chain_break(database_url, store)
        assert broken is not None and broken.aggregate_id == consent.id  # not laundered

        with psycopg.connect(database_url) as conn:  # tampering after the reseal
            edit_states(conn, "originator_id = %s", [enrollment.id], b"UTC", b"GMT")
        with psycopg.connect(database_url, autocommit=True) as conn:
            found = first_break(aggregate_rows(conn, events_table(store), [enrollment.id]))
        assert found is not None and found.problem == "the row was changed after it was stored"


def test_an_event_appended_between_the_read_and_the_write_leaves_the_chain_whole(database_url):
    brand = uuid4()
    _, consent = _old_history(database_url, brand)
    with running_service(database_url, credentials_key=Fernet.generate_key().decode(), roles=()) as service:
        store = service.store
        appended = []

        def a_send_appends(ids: list[UUID]) -> None:
            if not appended:  # once: the first read is then stale
                current = store.find(consent.id)
                current.suppress("a STOP text", T0)
                store.save_all([current])
                appended.append(current.version)

        done = reseal_brand(store, database_url, brand, "cli: test", lambda: T0, after_read=a_send_appends)

        assert done.events == 2 and appended == [4]
        assert _chain_break(database_url, store) is None
        assert store.find(consent.id).suppressed is True
        [record] = _records(store, database_url, brand)
        assert {r["aggregate_id"]: r["head_version"] for r in record.rows}[str(consent.id)] == 4


def test_a_reseal_stopped_after_its_first_batch_finishes_on_the_next_run(database_url):
    brand = uuid4()
    _old_history(database_url, brand)
    _old_history(database_url, brand, "carol@example.com")
    with running_service(database_url, credentials_key=Fernet.generate_key().decode(), roles=()) as service:
        store, batches = service.store, []

        def stopped_in_the_second_batch(ids: list[UUID]) -> None:
            batches.append(ids)
            if len(batches) == 2:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            reseal_brand(
                store, database_url, brand, "cli: test", lambda: T0, 1, after_read=stopped_in_the_second_batch
            )
        assert len(_records(store, database_url, brand)) == 1 and _chain_break(database_url, store) is None

        done = reseal_brand(store, database_url, brand, "cli: test", lambda: T0, batch_size=1)
        assert (done.events, done.batches) == (3, 3)
        assert _chain_break(database_url, store) is None
        left = [
            value for row in _stored(database_url) for value in [*PLAIN, b"carol@"] if value in bytes(row[4])
        ]
        assert left == []
        assert sum(len(r.rows) for r in _records(store, database_url, brand)) == 4


def test_each_brand_is_sealed_with_its_own_hashing_key(database_url):
    one, other = uuid4(), uuid4()
    first, _ = _old_history(database_url, one)
    second, _ = _old_history(database_url, other)
    with running_service(database_url, credentials_key=Fernet.generate_key().decode(), roles=()) as service:
        store, seal = service.store, service.store.personal_data
        assert seal is not None
        assert brands_to_reseal(store, database_url) == sorted([one, other])
        for brand in (one, other):
            reseal_brand(store, database_url, brand, "cli: test", lambda: T0)
        topic = get_topic(Enrollment.ContactEnrolled).encode()
        hashes = {}
        for row in _stored(database_url):
            if row[3].encode() == topic:
                state = store.mapper.transcoder.decode(expanded(bytes(row[4])))
                hashes[row[1]] = state["address_hashes"]["email"]
        assert hashes[first.id] == seal.address_hash(one, "ann@example.com")
        assert hashes[second.id] == seal.address_hash(other, "ann@example.com")
        assert hashes[first.id] != hashes[second.id]


def test_sends_appending_to_the_aggregates_throughout_a_reseal_leave_every_chain_whole(database_url):
    """A writer keeps appending to the consents being re-sealed, one batch of one at a time: its
    inserts wait for each batch's transaction (the writers' lock) and chain onto the new links, or
    land before the batch's lock and make it read again."""
    brand = uuid4()
    consents = [_old_history(database_url, brand, f"p{n}@example.com")[1] for n in range(12)]
    with running_service(database_url, credentials_key=Fernet.generate_key().decode(), roles=()) as service:
        store, stop, appended = service.store, threading.Event(), []

        def keep_appending() -> None:
            while not stop.is_set():
                for consent in consents:
                    current = store.find(consent.id)
                    changed = current.lift("START", T0) or current.suppress("a STOP text", T0)
                    assert changed
                    store.save_all([current])
                    appended.append(consent.id)

        writer = threading.Thread(target=keep_appending)
        writer.start()
        try:
            done = reseal_brand(store, database_url, brand, "cli: test", lambda: T0, batch_size=1)
        finally:
            stop.set()
            writer.join(timeout=30)
        assert done.events == 24 and len(appended) > 24
        assert _chain_break(database_url, store) is None
        assert brands_to_reseal(store, database_url) == []


def test_a_person_erased_before_the_reseal_has_erased_stored_in_place_of_their_addresses(database_url):
    brand = uuid4()
    enrollment, consent = _old_history(database_url, brand)
    with running_service(database_url, credentials_key=Fernet.generate_key().decode(), roles=()) as service:
        store, seal = service.store, service.store.personal_data
        assert seal is not None
        seal.erase(brand, {enrollment.contact_id: "contact", consent.id: "consent"}, T0)

        done = reseal_brand(store, database_url, brand, "cli: test", lambda: T0)

        assert done.events == 2
        assert not any(value in bytes(row[4]) for row in _stored(database_url) for value in PLAIN)
        assert store.enrollment(enrollment.id).addresses == dict.fromkeys(ADDRESSES, "erased")
        assert store.find(consent.id).address == "erased"
        assert _chain_break(database_url, store) is None
        assert reseal_brand(store, database_url, brand, "cli: test", lambda: T0).events == 0


def test_a_reseal_killed_in_the_middle_finishes_on_the_next_call_with_every_chain_whole(database_url):
    brand, key = uuid4(), Fernet.generate_key().decode()
    for n in range(30):
        _old_history(database_url, brand, f"p{n}@example.com")
    env = {**os.environ, "DATABASE_URL": database_url, "CREDENTIALS_KEY": key}
    command = [sys.executable, "-m", "runtime.cli", "events", "reseal", "--batch-size", "1"]
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        eventually(lambda: _count(database_url, EventResealing.EventsResealed) >= 3, timeout=60)
    finally:
        child.kill()
        child.wait(timeout=30)
    killed_at = _count(database_url, EventResealing.EventsResealed)
    assert child.returncode == -signal.SIGKILL and killed_at < 60  # stopped part-way

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout.strip().splitlines()[-1])["resealed"] == 60 - killed_at
    with running_service(database_url, credentials_key=key, roles=()) as service:
        assert _chain_break(database_url, service.store) is None
        assert brands_to_reseal(service.store, database_url) == []
        assert sum(len(r.rows) for r in _records(service.store, database_url, brand)) == 60


def _count(url: str, event_class: type) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM campaigns_events WHERE topic = %s", (get_topic(event_class),)
        )
        return int(row.fetchone()[0])


def test_one_brands_unreadable_event_leaves_the_schedulers_reseal_of_every_other_brand_going(database_url):
    broken, brand = UUID("00000000-0000-4000-8000-000000000001"), uuid4()  # the broken one comes first
    _old_history(database_url, brand)
    garbage = b'{"brand_id":{"_type_":"uuid_hex","_data_":"%s"},"addresses":42}' % broken.hex.encode()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO campaigns_events (originator_id, originator_version, topic, state) VALUES (%s, 1, %s, %s)",
            (uuid4(), get_topic(Enrollment.ContactEnrolled), garbage),
        )
    with running_service(database_url, credentials_key=Fernet.generate_key().decode(), roles=()) as service:
        assert brands_to_reseal(service.store, database_url) == [broken, brand]

        Resealer(service.store, database_url, lambda: T0).tick()

        assert brands_to_reseal(service.store, database_url) == [broken]  # the other brand is sealed
        assert len(_records(service.store, database_url, brand)) == 1


def test_the_logs_followers_read_events_stored_before_sealing_with_their_address_hashes(database_url):
    """Before any re-seal, the projector's faster reading (storage/event_decoding.py) gives an old
    enrolment and consent the brand's address hashes, as the store's own mapper does: the read
    models that find a person by hash (erasure, suppression) see them from the first replay on."""
    brand = uuid4()
    enrollment, consent = _old_history(database_url, brand)
    with running_service(database_url, credentials_key=Fernet.generate_key().decode(), roles=()) as service:
        store, seal = service.store, service.store.personal_data
        assert seal is not None
        decoder = EventDecoder(store.mapper)
        for row in _stored(database_url):
            if row[1] not in (enrollment.id, consent.id) or row[2] != 1:
                continue
            wanted = store.mapper.to_domain_event(StoredEvent(row[1], row[2], row[3], bytes(row[4])))
            got = decoder.decode(row[1], row[2], row[3], bytes(row[4]))
            assert vars(got) == vars(wanted)
            if isinstance(got, Enrollment.ContactEnrolled):
                assert got.address_hashes == {
                    channel: seal.address_hash(brand, address) for channel, address in ADDRESSES.items()
                }
            else:
                assert got.address_hash == seal.address_hash(brand, "bob@example.com")
