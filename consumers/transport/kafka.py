"""The Kafka transport: an idempotent producer (acks=all) and one consumer per worker loop.

Offsets are committed only after a batch is handled. A broker outage makes the producer's start and
every consumer loop wait and retry with backoff, never die; a send the broker refused or did not
confirm makes `flush` raise, so the relay reads its batch again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from consumers.transport import Handler
from consumers.transport.broker_outages import Backoff, broker_answers, start_when_reachable
from consumers.transport.messages import DEAD_LETTER_TOPIC, EVENTS_TOPIC, SEND_TOPICS
from storage.containment import TransportUnavailable

if TYPE_CHECKING:  # kafka-python ships no types (see [[tool.mypy.overrides]]); imported lazily at run time
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.producer.future import FutureRecordMetadata

log = logging.getLogger(__name__)


class KafkaTransport:
    """kafka-python producer (idempotent, acks=all) and one consumer per worker loop."""

    def __init__(
        self, bootstrap_servers: str, batch_size: int = 500, prefix: str = "", start_timeout: float = 300.0
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.prefix = prefix  # lets several deployments (or test runs) share one cluster
        self.batch_size = batch_size
        self.producer = self._start_producer(start_timeout)
        self._sent = threading.local()

    def _start_producer(self, timeout: float) -> KafkaProducer:
        """The producer, once the topics exist; a broker briefly away is waited for, up to `timeout`."""
        from kafka import KafkaProducer

        def start() -> KafkaProducer:
            producer = KafkaProducer(
                bootstrap_servers=self.bootstrap_servers,
                acks="all",
                linger_ms=5,
                reconnect_backoff_max_ms=2_000,  # back within seconds of the broker, not 30 s
            )
            try:
                self._ensure_topics()
            except Exception:
                producer.close(timeout=1)
                raise
            return producer

        return start_when_reachable(self.bootstrap_servers, start, timeout)

    def _ensure_topics(self) -> None:
        """Create the service's topics (broker defaults for partitions and replicas) before use.

        A consumer subscribed to a topic that a producer only later auto-creates would not see
        its partitions until its next metadata refresh; creating them first avoids that wait.
        """
        from kafka.admin import KafkaAdminClient, NewTopic
        from kafka.errors import TopicAlreadyExistsError

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        try:
            names = [self.prefix + t for t in (*SEND_TOPICS.values(), EVENTS_TOPIC, DEAD_LETTER_TOPIC)]
            for name in names:
                with contextlib.suppress(TopicAlreadyExistsError):
                    admin.create_topics([NewTopic(name, num_partitions=-1, replication_factor=-1)])
            deadline = time.monotonic() + 30
            while not all(_has_leaders(t) for t in admin.describe_topics(names)):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kafka topics {names} have no partition leaders after 30 s")
                time.sleep(0.1)
        finally:
            admin.close()

    def publish(self, topic: str, key: str, value: bytes) -> None:
        from kafka.errors import KafkaError

        try:  # kafka-python raises some refusals (size, no metadata in time) at once
            sent = self.producer.send(self.prefix + topic, key=key.encode(), value=value)
        except KafkaError as error:
            self._sent.futures = []  # the whole batch is read again
            raise TransportUnavailable(f"Kafka did not take a message for {topic}: {error}") from error
        self._pending().append(sent)

    def flush(self) -> None:
        """Wait for this thread's sends; raise TransportUnavailable if the broker refused any.

        kafka-python's own `flush` returns even when a send failed (its future holds the error), so
        a caller that records a position after it must look at every future.
        """
        from kafka.errors import KafkaError

        pending, self._sent.futures = self._pending(), []
        try:
            self.producer.flush(timeout=30)
        except KafkaError as error:
            raise TransportUnavailable(f"Kafka did not take the batch: {error}") from error
        failed = [future.exception for future in pending if not future.succeeded()]
        if failed:
            raise TransportUnavailable(f"Kafka refused {len(failed)} of {len(pending)} messages: {failed[0]}")

    def _pending(self) -> list[FutureRecordMetadata]:
        """The futures of this thread's sends since its last flush (relay and workers share a producer)."""
        if not hasattr(self._sent, "futures"):
            self._sent.futures = []
        futures: list[FutureRecordMetadata] = self._sent.futures
        return futures

    def wait_until_handled(self, topics: Collection[str] | None = None) -> None:
        pass  # the broker keeps what is unhandled; consumers' committed offsets say how far they are

    def consume(self, topic: str, group: str, handle: Handler, stop: threading.Event) -> None:
        """Until `stop`: join the group, hand batches on, commit; any failure (the broker away
        included) closes the consumer, waits with backoff and joins again. Uncommitted messages come
        back on rejoining, and the send path records each attempt, so nothing is sent twice."""
        backoff = Backoff()
        while not stop.is_set():
            consumer = None
            try:
                if not self.reachable():
                    raise ConnectionError(f"no broker answers at {self.bootstrap_servers}")
                consumer = self._consumer(topic, group)
                joined_at = time.monotonic()
                while not stop.is_set():
                    # kafka-python can keep a topic's "unknown" metadata from before it existed; a
                    # fresh consumer asks again (one merely left without partitions by a larger
                    # group knows the topic's partitions and is not recreated).
                    if time.monotonic() - joined_at > 5 and not consumer.partitions_for_topic(
                        self.prefix + topic
                    ):
                        log.warning("no partition metadata for %s; resubscribing", topic)
                        break
                    polled = consumer.poll(timeout_ms=200)
                    batch = [record.value for records in polled.values() for record in records]
                    if batch:
                        handle(batch)
                        consumer.commit()
                        backoff.reset()
            except Exception as failure:
                delay = backoff.next()
                if isinstance(failure, ConnectionError):
                    log.warning("consuming %s: %s; retrying in %.1f s", topic, failure, delay)
                else:
                    log.exception("consuming %s failed; rejoining the group in %.1f s", topic, delay)
                stop.wait(delay)
            finally:
                if consumer is not None:
                    with contextlib.suppress(Exception):
                        consumer.close(autocommit=False)

    def _consumer(self, topic: str, group: str) -> KafkaConsumer:
        from kafka import KafkaConsumer

        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=self.prefix + group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.batch_size,
            # A worker that dies hands its partitions on within seconds, not the default 45 s.
            session_timeout_ms=10_000,
            heartbeat_interval_ms=2_000,
            metadata_max_age_ms=10_000,  # see partitions added to a topic within seconds
            reconnect_backoff_max_ms=2_000,  # back within seconds of the broker, not 30 s
        )
        try:
            # Learn the topic's partitions before joining: a first join without them is followed
            # at once by a second one, and kafka-python was seen to hang in that second join.
            consumer.partitions_for_topic(self.prefix + topic)
            consumer.subscribe([self.prefix + topic])
        except Exception:
            consumer.close(autocommit=False)
            raise
        return consumer

    def reachable(self) -> bool:
        return broker_answers(self.bootstrap_servers)

    def close(self) -> None:
        self.producer.close(timeout=10)


def _has_leaders(description: dict[str, Any]) -> bool:
    partitions = description.get("partitions") or []
    return (
        description.get("error_code") == 0
        and bool(partitions)
        and all(p["leader_id"] >= 0 for p in partitions)
    )
