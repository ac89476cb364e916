"""A channel's provider calls hold one of its places each; other channels never wait for them."""

from __future__ import annotations

import threading

from consumers.providers.calls_in_flight import CallsInFlight

LIMIT = 3


def test_a_channel_has_its_places_filled_together_and_never_more():
    calls = CallsInFlight(LIMIT)
    together = threading.Barrier(LIMIT, timeout=10)  # passes only when LIMIT callers are inside
    inside, most, lock, broken = 0, 0, threading.Lock(), []

    def call() -> None:
        nonlocal inside, most
        with calls.place("email"):
            with lock:
                inside += 1
                most = max(most, inside)
            try:
                together.wait()
            except threading.BrokenBarrierError as error:
                broken.append(error)
            with lock:
                inside -= 1

    callers = [threading.Thread(target=call) for _ in range(3 * LIMIT)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(15)
    assert not broken and not any(caller.is_alive() for caller in callers)
    assert most == LIMIT


def test_another_channel_takes_a_place_while_every_email_place_is_held():
    calls = CallsInFlight(LIMIT)
    release, holding = threading.Event(), threading.Semaphore(0)

    def hold_email() -> None:
        with calls.place("email"):
            holding.release()
            release.wait(15)

    holders = [threading.Thread(target=hold_email) for _ in range(LIMIT)]
    for holder in holders:
        holder.start()
    for _ in range(LIMIT):
        assert holding.acquire(timeout=10)
    texted = threading.Event()

    def text() -> None:
        with calls.place("sms"):
            texted.set()

    threading.Thread(target=text).start()
    try:
        assert texted.wait(10)
    finally:
        release.set()
        for holder in holders:
            holder.join(15)
