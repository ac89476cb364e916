"""The in-process transport's hand-over: a relay waits for a worker that is expected on its topic
even while that worker's thread has not begun to consume (a channel's process starts both at
once, when its channel has work), so the relay never records its position over sends not made."""

from __future__ import annotations

import threading

from consumers.transport.in_process import InProcessTransport

TOPIC = "sends.email"


def test_a_relay_waits_for_an_expected_worker_that_has_not_started_consuming():
    transport = InProcessTransport(batch_size=10)
    transport.expect_consumer(TOPIC)  # the worker is built; its thread is not running yet
    transport.publish(TOPIC, "k", b"dispatch")
    handed = threading.Event()
    relay = threading.Thread(target=lambda: (transport.wait_until_handled([TOPIC]), handed.set()))
    relay.start()

    assert not handed.wait(0.3)  # still waiting: nothing was handled

    handled: list[list[bytes]] = []
    stop = threading.Event()
    worker = threading.Thread(target=transport.consume, args=(TOPIC, "g", handled.append, stop))
    worker.start()
    try:
        assert handed.wait(5)
        assert handled == [[b"dispatch"]]
    finally:
        stop.set()
        worker.join(5)
        relay.join(5)
