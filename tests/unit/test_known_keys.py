"""The request gate's memory of API keys found lately (api/gate.py `KnownKeys`)."""

from __future__ import annotations

from uuid import uuid4

from api.gate import KnownKeys


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_key_found_is_known_until_its_time_is_up():
    clock, brand = Clock(), uuid4()
    known = KnownKeys(ttl=60.0, clock=clock)
    assert known.get("cs_a") is None
    known.put("cs_a", brand)
    clock.now = 59.9
    assert known.get("cs_a") == brand
    clock.now = 60.0
    assert known.get("cs_a") is None
    assert known.get("cs_a") is None  # forgotten, not revived


def test_keys_are_told_apart():
    known = KnownKeys(clock=Clock())
    first, second = uuid4(), uuid4()
    known.put("cs_a", first)
    known.put("cs_b", second)
    assert (known.get("cs_a"), known.get("cs_b"), known.get("cs_c")) == (first, second, None)


def test_past_its_size_the_least_recently_used_key_goes_first():
    known = KnownKeys(size=2, clock=Clock())
    a, b, c = uuid4(), uuid4(), uuid4()
    known.put("cs_a", a)
    known.put("cs_b", b)
    assert known.get("cs_a") == a  # a used last: b is now the least recently used
    known.put("cs_c", c)
    assert (known.get("cs_a"), known.get("cs_b"), known.get("cs_c")) == (a, None, c)
