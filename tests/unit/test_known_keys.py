"""The request gate's memory of API keys found lately (api/known_keys.py `KnownKeys`)."""

from __future__ import annotations

from uuid import uuid4

from api.known_keys import KnownKeys
from commands.access.key_lookup import KeyHolder


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def holder() -> KeyHolder:
    return KeyHolder(uuid4(), uuid4(), "basic")


def test_a_key_found_is_known_until_its_time_is_up():
    clock, brand = Clock(), holder()
    known = KnownKeys(ttl=60.0, clock=clock)
    assert known.get("a") is None
    known.put("a", brand, known.generation)
    clock.now = 59.9
    assert known.get("a") == brand
    clock.now = 60.0
    assert known.get("a") is None
    assert known.get("a") is None  # forgotten, not revived


def test_keys_are_told_apart():
    known = KnownKeys(clock=Clock())
    first, second = holder(), holder()
    known.put("a", first, known.generation)
    known.put("b", second, known.generation)
    assert (known.get("a"), known.get("b"), known.get("c")) == (first, second, None)


def test_past_its_size_the_least_recently_used_key_goes_first():
    known = KnownKeys(size=2, clock=Clock())
    a, b, c = holder(), holder(), holder()
    known.put("a", a, known.generation)
    known.put("b", b, known.generation)
    assert known.get("a") == a  # a used last: b is now the least recently used
    known.put("c", c, known.generation)
    assert (known.get("a"), known.get("b"), known.get("c")) == (a, None, c)


def test_a_revoked_key_is_forgotten_and_the_others_kept():
    known = KnownKeys(clock=Clock())
    a, b = holder(), holder()
    known.put("a", a, known.generation)
    known.put("b", b, known.generation)
    known.forget(["a", "never-seen"])
    assert (known.get("a"), known.get("b")) == (None, b)


def test_a_lookup_under_way_when_a_revocation_is_learnt_is_not_remembered():
    known = KnownKeys(clock=Clock())
    before = known.generation  # the lookup starts; it may read the key before its revocation
    known.forget(["other"])
    known.put("a", holder(), before)
    assert known.get("a") is None


def test_a_memory_not_checked_against_revocations_lately_is_not_used():
    clock = Clock()
    known = KnownKeys(clock=clock, trust_for=0.5)
    known.put("a", holder(), known.generation)
    assert known.get("a") is None  # never checked: nothing is remembered
    known.checked(at=0.0)
    brand = holder()
    known.put("a", brand, known.generation)
    clock.now = 0.4
    assert known.get("a") == brand
    clock.now = 0.5  # the watch has not checked since 0.0: a revocation may have gone unseen
    assert known.get("a") is None
    known.checked(at=0.5)
    assert known.get("a") is None  # dropped, looked up again rather than revived


def test_a_lookup_under_way_is_not_remembered_however_many_revocations_were_learnt_before_it():
    known = KnownKeys(clock=Clock())
    known.forget(["earlier"])
    before = known.generation  # a lookup starts after one revocation, and another comes in
    known.forget(["other"])
    known.put("a", holder(), before)
    known.forget_key(uuid4())
    before = known.generation  # the same with revocations by key id
    known.forget_key(uuid4())
    known.put("b", holder(), before)
    assert (known.get("a"), known.get("b")) == (None, None)
