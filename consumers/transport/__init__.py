"""How dispatches travel from the relay to the channel workers: Kafka, or in-process queues.

Both deliver at least once and hand workers batches; a worker's batch is acknowledged (Kafka:
offsets committed) only after its outcomes are recorded. `in_process` serves the embedded default,
`kafka` production; `messages` is the wire format, `broker_outages` how Kafka clients live through
a broker that is away.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from typing import Protocol

Handler = Callable[
    [list[bytes]], object
]  # what a handler returns (a report, say) is not the transport's concern


class Transport(Protocol):
    def publish(self, topic: str, key: str, value: bytes) -> None: ...

    def flush(self) -> None:
        """Return once everything published so far is safely handed over."""

    def wait_until_handled(self, topics: Collection[str] | None = None) -> None:
        """Return once consumers have handled what was published to `topics` (None: to any
        consumed topic). Only in-process can tell."""

    def consume(self, topic: str, group: str, handle: Handler, stop: threading.Event) -> None:
        """Hand batches to `handle` until `stop` is set."""

    def reachable(self) -> bool:
        """Whether the transport can take messages now (for /readyz)."""

    def close(self) -> None: ...
