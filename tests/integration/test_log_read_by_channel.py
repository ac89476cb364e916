"""A relay reads only its own channel's dispatches (storage/event_log.py `read_log` with `having`).

PostgreSQL picks them out of the stored JSON; another recorder gives the same answer by filtering
what it decoded. Either way the position read through is the log's head, so a relay moves past
the other channels' dispatches without ever seeing them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from commands.application import CampaignApplication
from domain.enrollment import Enrollment
from domain.steps import Step, StepType
from storage.database import event_store_env
from storage.event_log import read_log

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
STEPS = [
    Step(id="e0", type=StepType.EMAIL, group=0, order=0, subject="Hi", body="Hello"),
    Step(id="s0", type=StepType.SMS, group=0, order=1, body="Hi"),
    Step(id="v0", type=StepType.VOICEMAIL, group=0, order=2, audio_url="https://example.com/a.mp3"),
]
ADDRESSES = {"email": "ann@example.com", "sms": "+14155550100", "voicemail": "+14155550100"}


def dispatched(store: CampaignApplication) -> int:
    enrollments = []
    for _ in range(3):
        enrollment = Enrollment.enroll(uuid4(), uuid4(), uuid4(), ADDRESSES, STEPS, NOW)
        enrollment.dispatch_due(NOW)
        enrollments.append(enrollment)
    store.save_all(enrollments)
    return store.recorder.max_notification_id() or 0


def channels_read(store: CampaignApplication, wanted: list[str]) -> tuple[list[Any], int]:
    events, through = read_log_having(store, wanted)
    return sorted({(e.channel, e.step_id) for _, e in events}), through


def read_log_having(store: CampaignApplication, wanted: list[str]) -> tuple[list[tuple[int, Any]], int]:
    return read_log(store, 0, 1000, (Enrollment.StepDispatched,), ("channel", wanted))


def test_postgres_sends_a_relay_only_its_channels_dispatches_and_the_head_to_move_to(database_url):
    store = CampaignApplication(env=event_store_env(database_url))
    head = dispatched(store)
    assert channels_read(store, ["sms"]) == ([("sms", "s0")], head)
    assert channels_read(store, ["email", "voicemail"]) == ([("email", "e0"), ("voicemail", "v0")], head)
    events, _ = read_log_having(store, ["sms"])
    assert len(events) == 3 and all(isinstance(e, Enrollment.StepDispatched) for _, e in events)


def test_another_recorder_gives_the_same_answer():
    store = CampaignApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    head = dispatched(store)
    assert channels_read(store, ["sms"]) == ([("sms", "s0")], head)
    assert channels_read(store, ["fax"]) == ([], head)


def test_a_dispatch_jsonb_cannot_read_fails_no_relays_read(database_url):
    """A NUL in a text is valid JSON but not jsonb: the read looks into the stored bytes, not the
    JSON, so such a row neither fails the read of every row after it nor reaches another channel."""
    store = CampaignApplication(env=event_store_env(database_url))
    dispatched(store)
    poison = Step(id="e\x00mail", type=StepType.EMAIL, group=0, order=0, subject="Hi", body="Hello")
    enrollment = Enrollment.enroll(uuid4(), uuid4(), uuid4(), ADDRESSES, [poison, *STEPS[1:]], NOW)
    assert enrollment is not None
    enrollment.dispatch_due(NOW)
    store.save_all([enrollment])
    head = store.recorder.max_notification_id()

    assert channels_read(store, ["sms"]) == ([("sms", "s0")], head)
    assert channels_read(store, ["email"]) == ([("email", "e\x00mail"), ("email", "e0")], head)


def test_compressed_states_are_read_by_channel_all_the_same(database_url):
    """Stored states compressed (the library's COMPRESSOR_TOPIC) hold no readable `"channel":...`:
    the read then asks PostgreSQL for every dispatch and keeps its channel's after decoding."""
    env = {**event_store_env(database_url), "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor"}
    store = CampaignApplication(env=env)
    start = store.recorder.max_notification_id() or 0
    head = dispatched(store)
    events, through = read_log(store, start, 1000, (Enrollment.StepDispatched,), ("channel", ["sms"]))
    assert sorted({(e.channel, e.step_id) for _, e in events}) == [("sms", "s0")]
    assert len(events) == 3 and through == head
