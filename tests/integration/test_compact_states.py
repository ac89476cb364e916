"""An aggregate's events after its first are stored compacted (storage/compact_states.py; decision
record 35): smaller, read back the same, found by the reads that look into the stored bytes, while
the rows PostgreSQL reads as JSON (an aggregate's first event, a dispatch) stay JSON, and states
stored as JSON before read as they always did."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import Mapper

from commands.application import CampaignApplication
from domain.enrollment import Enrollment
from domain.steps import Step, StepType
from storage.compact_states import DICTIONARY_V1, compact, expanded, is_compact
from storage.database import event_store_env
from storage.event_log import read_log

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
STEPS = [
    Step(id="e0", type=StepType.EMAIL, group=0, order=0, subject="Hi", body="Hello"),
    Step(id="s0", type=StepType.SMS, group=1, order=0, body="Hi"),
]
ADDRESSES = {"email": "ann@example.com", "sms": "+14155550100"}


def _sent(campaign: Any = None) -> list[Any]:
    enrollment = Enrollment.enroll(campaign or uuid4(), uuid4(), uuid4(), ADDRESSES, STEPS, NOW)
    assert enrollment is not None
    enrollment.dispatch_due(NOW)
    enrollment.attempt("e0", str(uuid4()), NOW + timedelta(seconds=1))
    enrollment.record_sent("e0", f"<{uuid4()}@mail>", 1, NOW + timedelta(seconds=2))
    enrollment.record_open("e0", NOW + timedelta(minutes=5))
    return list(enrollment.collect_events())


def test_later_events_are_stored_compacted_and_read_back_the_same(database_url):
    store = CampaignApplication(env=event_store_env(database_url))
    try:
        events = _sent()
        originals = [dict(vars(e)) for e in events]
        store.recorder.insert_events([store.mapper.to_stored_event(e) for e in events])
        rows = list(store.recorder.select_events(events[0].originator_id))
        kinds = {row.topic.rsplit(".", 1)[-1]: is_compact(row.state) for row in rows}
        # PostgreSQL reads a first event's JSON (brand, campaign, sealed values) and a relay a dispatch's
        assert kinds == {
            "ContactEnrolled": False,
            "StepDispatched": False,
            "StepAttempted": True,
            "StepSent": True,
            "StepOpened": True,
        }
        plain = Mapper(transcoder=store.mapper.transcoder)
        for event, row in zip(events, rows, strict=True):
            if is_compact(row.state):
                assert len(row.state) < 0.6 * len(plain.to_stored_event(event).state)
        read = [store.mapper.to_domain_event(row) for row in rows]
        assert [dict(vars(e)) for e in read] == originals
        assert store.repository.get(events[0].originator_id).status_of("e0").value == "sent"
    finally:
        store.close()


def test_states_stored_as_json_before_read_as_they_always_did(database_url):
    store = CampaignApplication(env=event_store_env(database_url))
    try:
        events = _sent()
        before = Mapper(transcoder=store.mapper.transcoder)
        store.recorder.insert_events([before.to_stored_event(e) for e in events])
        rows = list(store.recorder.select_events(events[0].originator_id))
        assert not any(is_compact(row.state) for row in rows)
        assert [dict(vars(store.mapper.to_domain_event(r))) for r in rows] == [dict(vars(e)) for e in events]
    finally:
        store.close()


def test_a_read_that_looks_into_the_stored_bytes_still_finds_compacted_events(database_url):
    """The as-of tail read asks PostgreSQL for a campaign's events by the hex of its id in the
    stored bytes, which a compacted state hides: such a row is handed over and decoded to decide."""
    store = CampaignApplication(env=event_store_env(database_url))
    try:
        campaign = uuid4()
        mine, others = _sent(campaign), _sent()
        start = store.recorder.max_notification_id() or 0
        store.recorder.insert_events([store.mapper.to_stored_event(e) for e in mine + others])
        wanted = (Enrollment.StepSent, Enrollment.StepOpened)
        events, _ = read_log(store, start, 1000, wanted, ("campaign_id", [campaign]))
    finally:
        store.close()
    assert [type(e).__name__ for _, e in events] == ["StepSent", "StepOpened"]
    assert {e.originator_id for _, e in events} == {mine[0].originator_id}


def test_with_the_librarys_compressor_configured_states_are_its_own_and_never_compacted(database_url):
    env = {**event_store_env(database_url), "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor"}
    store = CampaignApplication(env=env)
    try:
        events = _sent()
        store.recorder.insert_events([store.mapper.to_stored_event(e) for e in events])
        rows = list(store.recorder.select_events(events[0].originator_id))
        assert not any(is_compact(row.state) for row in rows)
        assert [dict(vars(store.mapper.to_domain_event(r))) for r in rows] == [dict(vars(e)) for e in events]
    finally:
        store.close()


def test_the_dictionary_is_part_of_the_stored_format_and_never_changes():
    assert hashlib.sha256(DICTIONARY_V1).hexdigest() == (
        "c602e3d066decf54894c7f0e62ce093127cb39a6faf1b8574424288e7f7a1897"
    )
    state = json.dumps({"step_id": "é", "n": list(range(50))}).encode()
    assert is_compact(compact(state)) and expanded(compact(state)) == state
    assert expanded(state) == state  # JSON as stored is its own JSON
