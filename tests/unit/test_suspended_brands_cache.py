"""The request gate's view of suspended brands (api/suspensions.py): read once for every caller at
first, then again at most every half second, so a suspension or a reinstatement reaches a running
API process within a second without a query per request; a failed read keeps the last set and is
tried again on the next call."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from api.suspensions import SuspendedBrands


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_standing_is_read_again_only_after_the_ttl_and_then_seen_by_every_caller() -> None:
    acme, other = uuid4(), uuid4()
    stored: set = set()
    reads = []

    def read() -> set:
        reads.append(1)
        return set(stored)

    clock = Clock()
    known = SuspendedBrands(read, ttl=0.5, clock=clock)

    async def scenario() -> None:
        assert not await known(acme) and len(reads) == 1
        stored.add(acme)  # suspended meanwhile
        clock.now = 0.4
        assert not await known(acme) and len(reads) == 1  # within the half second: no query
        clock.now = 0.5
        assert await known(acme) and not await known(other) and len(reads) == 2
        stored.clear()  # reinstated
        clock.now = 1.0
        assert not await known(acme) and len(reads) == 3

    asyncio.run(scenario())


def test_a_failed_read_keeps_the_last_set_and_the_next_call_reads_again() -> None:
    acme = uuid4()
    answers: list = [RuntimeError("no database yet"), {acme}, RuntimeError("connection lost"), set()]

    def read() -> set:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    clock = Clock()
    known = SuspendedBrands(read, ttl=0.5, clock=clock)

    async def scenario() -> None:
        with pytest.raises(RuntimeError):  # nothing known: the call cannot be decided
            await known(acme)
        assert await known(acme)
        clock.now = 1.0
        assert await known(acme)  # the read failed: the last set stands
        assert not await known(acme)  # read again at once: reinstated
        assert answers == []

    asyncio.run(scenario())
