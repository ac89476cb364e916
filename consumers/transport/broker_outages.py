"""How the Kafka side lives through a broker outage: a cheap reachability probe and retry backoff.

kafka-python's own reconnects back off for up to 30 s, and a client whose construction fails can leave
its network thread behind, so loops probe the broker with a plain TCP connection before building a
client, and wait between attempts with a jittered, doubling backoff. A role starting while the
broker is away waits for it, for a bounded time.
"""

from __future__ import annotations

import logging
import random
import socket
import time
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


def broker_answers(bootstrap_servers: str, timeout: float = 1.0) -> bool:
    """Whether one of the comma-separated `host:port` bootstrap servers accepts a TCP connection."""
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout).close()
            return True
        except (OSError, ValueError):
            continue
    return False


class Backoff:
    """Waits that double from `first` up to `most` seconds, jittered so workers do not retry in step."""

    def __init__(self, first: float = 0.5, most: float = 10.0) -> None:
        self.first, self.most, self.current = first, most, first

    def next(self) -> float:
        delay = self.current
        self.current = min(self.current * 2, self.most)
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self.current = self.first


def start_when_reachable(bootstrap_servers: str, start: Callable[[], T], timeout: float) -> T:
    """`start()`'s result once the broker lets it succeed; retried with a log line until `timeout`
    seconds have passed, then a RuntimeError saying where and why."""
    deadline, backoff = time.monotonic() + timeout, Backoff()
    while True:
        try:
            if not broker_answers(bootstrap_servers):
                raise ConnectionError("no broker answers")
            return start()
        except Exception as failure:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(
                    f"Kafka at {bootstrap_servers} not usable after {timeout:g} s: {failure}"
                ) from failure
            delay = min(backoff.next(), left)
            log.warning(
                "Kafka at %s not usable yet (%s); retrying in %.1f s, giving up in %.0f s",
                bootstrap_servers,
                failure,
                delay,
                left,
            )
            time.sleep(delay)
