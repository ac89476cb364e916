"""The in-process transport of the embedded default: queues in this process, batches for the workers.

The relay's `wait_until_handled` returns once the workers have handled what it published, so the
relay records its position only after the sends are recorded: a crash loses nothing. A worker is
`expected` on its topic when it is built, before any relay runs: a relay's first pass, made while
that worker's thread was still starting, once found no consumer to wait for and recorded its
position over sends not made (a channel's process, started when its channel has work, made that
the rule, and a kill at that moment lost the sends until their lease ran out).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Collection

from consumers.transport import Handler

log = logging.getLogger(__name__)


class InProcessTransport:
    """Queues in this process; `flush` waits until the workers have handled what was published."""

    def __init__(self, batch_size: int = 500) -> None:
        self.batch_size = batch_size
        self._queues: dict[str, queue.Queue[bytes]] = {}
        self._consumed: set[str] = set()
        self._lock = threading.Lock()

    def _queue(self, topic: str) -> queue.Queue[bytes]:
        with self._lock:
            return self._queues.setdefault(topic, queue.Queue())

    def publish(self, topic: str, key: str, value: bytes) -> None:
        self._queue(topic).put(value)

    def flush(self) -> None:
        pass  # a put on an in-memory queue is already handed over

    def expect_consumer(self, topic: str) -> None:
        """A worker of this process will consume `topic`: a relay waits for it from now on."""
        self._queue(topic)
        with self._lock:
            self._consumed.add(topic)

    def wait_until_handled(self, topics: Collection[str] | None = None) -> None:
        with self._lock:
            queues = [self._queues[t] for t in self._consumed if topics is None or t in topics]
        for q in queues:
            q.join()

    def consume(self, topic: str, group: str, handle: Handler, stop: threading.Event) -> None:
        q = self._queue(topic)
        with self._lock:
            self._consumed.add(topic)
        while not stop.is_set():
            try:
                batch = [q.get(timeout=0.1)]
            except queue.Empty:
                continue
            while len(batch) < self.batch_size:
                try:
                    batch.append(q.get_nowait())
                except queue.Empty:
                    break
            try:
                handle(batch)
            except Exception:
                log.exception("handling a batch from %s failed; it will be redelivered", topic)
                for value in batch:
                    q.put(value)
                stop.wait(1.0)
            finally:
                for _ in batch:
                    q.task_done()

    def reachable(self) -> bool:
        return True

    def close(self) -> None:
        pass
