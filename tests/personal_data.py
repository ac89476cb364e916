"""The person the erasure tests erase, and the searches that look for any of their values after it.

ANN's values are found nowhere else, so any hit is hers: `values_found` searches every text, JSON,
array and bytea column of every table of a database; `topic_values_found` reads Kafka topics from
their beginning, as a consumer of the service's messages would, and searches each message's key
and value. BOB is the other contact of the same campaign, who must stay as he was.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Any

import psycopg

from storage.compact_states import expanded

STEPS: list[dict[str, Any]] = [
    {
        "type": "EMAIL",
        "group": 0,
        "subject": "Hi {{first_name}}",
        "body": "Hello {{first_name}} {{last_name}}",
    },
    {"type": "SMS", "group": 0, "body": "Hi {{first_name}}"},
]
ANN: dict[str, Any] = {
    "email": "Zyxannabel.Quokka@Example.com",
    "phone": "+14155550123",
    "first_name": "Zyxannabel",
    "last_name": "Plumquokka",
    "fields": {"favourite": "marmaladequince"},
}
ANN_VALUES = [
    "zyxannabel.quokka@example.com",
    "+14155550123",
    "4155550123",
    "Zyxannabel",
    "Plumquokka",
    "marmaladequince",
]
BOB: dict[str, Any] = {
    "email": "bob@example.com",
    "phone": "+14155550124",
    "first_name": "Bob",
    "last_name": "Ray",
}


def values_found(url: str, values: list[str]) -> list[str]:
    """`table.column: value` for every text, JSON or bytea column of every table holding one of the values."""
    found = []
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            """SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns
               WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
                 AND data_type IN ('text', 'character varying', 'jsonb', 'json', 'bytea', 'ARRAY')
                 AND table_name IN (SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE')"""
        ).fetchall()
        for schema, table, column, kind in columns:
            for value in values:
                test = (
                    f"position(convert_to(%s, 'UTF8') in \"{column}\") > 0"
                    if kind == "bytea"
                    else f'lower("{column}"::text) LIKE %s'
                )
                needle = value if kind == "bytea" else f"%{value.lower()}%"
                hits = conn.execute(
                    f'SELECT count(*) FROM "{schema}"."{table}" WHERE {test}', (needle,)
                ).fetchone()
                if hits and hits[0]:
                    found.append(f"{table}.{column}: {value}")
        # An event's state stored compacted (storage/compact_states.py) hides its text from SQL:
        # searched again as the JSON it is.
        compacted = conn.execute(
            "SELECT state FROM campaigns_events WHERE substring(state FROM 1 FOR 1) IN ('\\x01', '\\x02')"
        ).fetchall()
        hidden = [expanded(bytes(state)) for (state,) in compacted]
        found += [
            f"campaigns_events.state: {v}" for v in values if any(v.encode() in text for text in hidden)
        ]
    return found


def topic_messages(bootstrap: str, topics: list[str]) -> dict[str, list[bytes]]:
    """Every message of each topic, key and value, read from the beginning up to its end now:
    with kcat, a client nobody here wrote, where it is installed (scripts/test.sh requires it),
    else with kafka-python."""
    kcat = shutil.which("kcat")
    if kcat:
        return {topic: _kcat_messages(kcat, bootstrap, topic) for topic in topics}
    if os.environ.get("REQUIRE_KCAT") == "1":
        raise AssertionError("kcat is not installed (scripts/bootstrap.sh installs it with the test extras)")
    from kafka import KafkaConsumer, TopicPartition

    deadline = time.monotonic() + 30
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=1_000)
    try:
        read: dict[str, list[bytes]] = {}
        for topic in topics:
            partitions = [
                TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
            ends = consumer.end_offsets(partitions)
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            read[topic] = []
            for partition in partitions:
                while consumer.position(partition) < ends[partition]:
                    assert time.monotonic() < deadline, f"{topic} not read to its end within 30 s"
                    for records in consumer.poll(timeout_ms=1_000, max_records=500).values():
                        read[topic] += [(r.key or b"") + b" " + (r.value or b"") for r in records]
        return read
    finally:
        consumer.close()


def _kcat_messages(kcat: str, bootstrap: str, topic: str) -> list[bytes]:
    """The topic's messages, `key value` a line, read by kcat from the beginning to the end of
    every partition (`-e`); a topic that does not exist yet holds nothing."""
    done = subprocess.run(
        [kcat, "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%k %s\\n"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0 and b"Unknown topic" in done.stderr:
        return []
    assert done.returncode == 0, f"kcat could not read {topic}: {done.stderr.decode(errors='replace')}"
    return [line for line in done.stdout.split(b"\n") if line]


def topic_values_found(bootstrap: str, topics: list[str], values: list[str]) -> list[str]:
    """`topic: value` for every topic holding one of the values in a message's key or value (any case)."""
    found = []
    for topic, messages in topic_messages(bootstrap, topics).items():
        text = b"\n".join(messages).decode("utf-8", errors="replace").lower()
        found += [f"{topic}: {value}" for value in values if value.lower() in text]
    return found
