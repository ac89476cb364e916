"""When each API key was last used (api/key_watch.py's `KeyUses`): noted by requests at most once a
minute per key, taken by the watch to be written, and given back when the write failed."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from api.key_watch import KeyUses

T1 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
T2 = datetime(2026, 12, 7, 10, 5, tzinfo=UTC)


def test_uses_given_back_after_a_failed_write_are_taken_again_by_the_next_pass():
    clock = [0.0]
    uses = KeyUses(every=60.0, clock=lambda: clock[0])
    first, second = uuid4(), uuid4()
    uses.note(first, lambda: T1)
    uses.note(second, lambda: T1)
    taken = uses.take()
    assert taken == {first: T1, second: T1}
    assert uses.take() == {}  # taken once
    uses.give_back(taken)  # the database did not answer
    assert uses.take() == {first: T1, second: T1}


def test_a_use_given_back_never_hides_a_newer_use_of_the_same_key():
    clock = [0.0]
    uses = KeyUses(every=60.0, clock=lambda: clock[0])
    key = uuid4()
    uses.note(key, lambda: T1)
    taken = uses.take()
    clock[0] = 61.0
    uses.note(key, lambda: T2)  # used again while the first write was failing
    uses.give_back(taken)
    assert uses.take() == {key: T2}


def test_a_key_used_again_within_the_minute_is_noted_once():
    clock = [0.0]
    uses = KeyUses(every=60.0, clock=lambda: clock[0])
    key = uuid4()
    uses.note(key, lambda: T1)
    clock[0] = 59.0
    uses.note(key, lambda: T2)
    assert uses.take() == {key: T1}
    clock[0] = 60.0
    uses.note(key, lambda: T2)
    assert uses.take() == {key: T2}
