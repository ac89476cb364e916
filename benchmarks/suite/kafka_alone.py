"""Anchor of the Kafka-mode send pipeline: kafka-python alone producing N messages the size of a
dispatch (keyed, to a topic of the broker's default partitions) and one consumer group reading them
all back; the seconds from the first send to the last message consumed."""

from __future__ import annotations

import json
import time
from uuid import uuid4

from kafka import KafkaConsumer, KafkaProducer

from benchmarks.suite.infrastructure import NotMeasured


def kafka_alone_seconds(bootstrap: str, messages: int, limit: float) -> float:
    topic = f"bench-anchor-{uuid4().hex[:8]}"
    payload = json.dumps(
        {"enrollment_id": str(uuid4()), "campaign_id": str(uuid4()), "step_id": "s1", "channel": "email"}
    ).encode()
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=f"{topic}-group",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=500,
    )
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    try:
        producer.send(topic, key=b"warm-up", value=payload).get(timeout=30)  # creates the topic
        consumer.subscribe([topic])
        started = time.perf_counter()
        for i in range(messages):
            producer.send(topic, key=str(i).encode(), value=payload)
        producer.flush()
        seen, deadline = 0, time.monotonic() + limit
        while seen < messages + 1:
            if time.monotonic() > deadline:
                raise NotMeasured(f"kafka-python consumed {seen:,} of {messages + 1:,} in {limit:.0f} s")
            for records in consumer.poll(timeout_ms=500).values():
                seen += len(records)
            consumer.commit()
        return time.perf_counter() - started
    finally:
        producer.close(timeout=5)
        consumer.close()
