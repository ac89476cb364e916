"""An event's own time is stored once (storage/stored_times.py; decision record 35): the stored
state leaves out the time field that repeats its timestamp, and every reader sees the event as
before: the store's mapper, and the export, which reads the stored JSON itself. Events stored with
the field (before this change, or with a time of their own) read as they always did."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import psycopg
from eventsourcing.persistence import Mapper

from commands.application import CampaignApplication
from domain.enrollment import Enrollment
from domain.steps import Step, StepType
from projections.history.export_rows import ExportFilter, export_rows
from storage.compact_states import expanded
from storage.database import event_store_env
from storage.event_log import events_table

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
STEPS = [
    Step(id="e0", type=StepType.EMAIL, group=0, order=0, subject="Hi", body="Hello"),
    Step(id="s0", type=StepType.SMS, group=1, order=0, body="Hi"),
]
ADDRESSES = {"email": "ann@example.com", "sms": "+14155550100"}


def _enrollment_events() -> list[Any]:
    """An enrolment, its first group dispatched, attempted and sent: events with a time field each."""
    enrollment = Enrollment.enroll(uuid4(), uuid4(), uuid4(), ADDRESSES, STEPS, NOW)
    assert enrollment is not None
    enrollment.dispatch_due(NOW)
    enrollment.attempt("e0", "sender", NOW + timedelta(seconds=1))
    enrollment.record_sent("e0", "m1", 1, NOW + timedelta(seconds=2))
    events = list(enrollment.collect_events())
    assert [type(e).__name__ for e in events] == [
        "ContactEnrolled",
        "StepDispatched",
        "StepAttempted",
        "StepSent",
    ]
    return events


def _states(store: CampaignApplication, aggregate_id: Any) -> list[dict[str, Any]]:
    return [json.loads(expanded(stored.state)) for stored in store.recorder.select_events(aggregate_id)]


def test_an_events_own_time_is_stored_once_and_read_back_as_its_field(database_url):
    store = CampaignApplication(env=event_store_env(database_url))
    try:
        events = _enrollment_events()
        originals = [dict(vars(e)) for e in events]
        store.recorder.insert_events([store.mapper.to_stored_event(e) for e in events])
        aggregate_id = events[0].originator_id
        states = _states(store, aggregate_id)
        for event, state in zip(events, states, strict=True):
            field = type(event).TIME_FIELD
            assert field not in state and "timestamp" in state, (type(event).__name__, state)
        read = [store.mapper.to_domain_event(s) for s in store.recorder.select_events(aggregate_id)]
        assert [dict(vars(e)) for e in read] == originals
        enrollment = store.repository.get(aggregate_id)
        assert enrollment.enrolled_at == NOW and enrollment.status_of("e0").value == "sent"
    finally:
        store.close()


def test_events_stored_with_their_time_field_read_as_before(database_url):
    """As stored before this change (the library's own mapper), with the field equal to the
    timestamp or not (an event written before decision 19 had a time of its own)."""
    store = CampaignApplication(env=event_store_env(database_url))
    try:
        plain = Mapper(transcoder=store.mapper.transcoder)
        events = _enrollment_events()
        earlier = NOW - timedelta(minutes=5)
        vars(events[0])["enrolled_at"] = earlier  # its own time, not the timestamp
        originals = [dict(vars(e)) for e in events]
        store.recorder.insert_events([plain.to_stored_event(e) for e in events])
        aggregate_id = events[0].originator_id
        assert all(type(e).TIME_FIELD in s for e, s in zip(events, _states(store, aggregate_id), strict=True))
        read = [store.mapper.to_domain_event(s) for s in store.recorder.select_events(aggregate_id)]
        assert [dict(vars(e)) for e in read] == originals
        assert read[0].enrolled_at == earlier != read[0].timestamp
    finally:
        store.close()


def test_the_export_shows_an_event_stored_once_as_one_stored_with_its_time_field(database_url):
    store = CampaignApplication(env=event_store_env(database_url))
    try:
        plain = Mapper(transcoder=store.mapper.transcoder)
        events = _enrollment_events()
        once = [store.mapper.to_stored_event(e) for e in events]
        twice = [plain.to_stored_event(e) for e in events]
        other = uuid4()  # the same events, stored the way before, under another enrollment's id
        for stored in twice:
            object.__setattr__(stored, "originator_id", other)
        assert all(len(a.state) < len(b.state) for a, b in zip(once, twice, strict=True))
        store.recorder.insert_events(once)
        store.recorder.insert_events(twice)
        with psycopg.connect(database_url) as conn:
            rows = [row for batch in export_rows(conn, events_table(store), ExportFilter()) for row in batch]
    finally:
        store.close()
    by_aggregate: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_aggregate.setdefault(str(row[3]), []).append(json.loads(row[7]))
    exported_once, exported_twice = by_aggregate[str(events[0].originator_id)], by_aggregate[str(other)]
    assert exported_once == exported_twice
    assert exported_once[0]["enrolled_at"] == "2026-12-07T10:00:00Z"
