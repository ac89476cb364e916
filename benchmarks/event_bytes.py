"""Side measurement of `benchmarks.bytes_per_send`: what the stored events of the sends are made of,
and what other encodings would make of the same events (decision record 31).

Per event type: events per sent contact, the row's bytes (`pg_column_size`: tuple header, ids,
version, topic, state as stored: a later event's compacted, storage/compact_states.py) and, inside
a state stored as the library's JSON, the wrappers the JSON transcoder puts around each uuid and
datetime (`{"_type_":"uuid_hex","_data_":...}` less the value itself),
the timestamps' values, and the sealed addresses of ContactEnrolled. Then a sample of the stored
states (as JSON) encoded again: as stored, the library's zlib compressor over them as they are, plain compact JSON with
the wrappers taken off (what orjson or msgspec writes for typed fields; the bytes are those of
any compact JSON), that compressed, and msgspec's MessagePack with uuids as 16 bytes and times as
MessagePack timestamps (only when msgspec is installed: `.venv/bin/pip install msgspec`)."""

from __future__ import annotations

import json
import re
import zlib
from collections import defaultdict
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from storage.compact_states import expanded

WRAPPER = re.compile(rb'\{"_type_":"([a-z_]+)","_data_":("(?:[^"\\]|\\.)*"|[^{}]*?)\}')
SEALED_ADDRESSES = re.compile(rb'"addresses":(\{[^{}]*\})')


def _unwrapped(value: Any, typed: bool) -> Any:
    """The decoded JSON with each transcoder wrapper replaced by its value (a uuid or a datetime
    object when `typed`, for MessagePack; its string otherwise)."""
    if isinstance(value, dict):
        if set(value) == {"_type_", "_data_"}:
            data = _unwrapped(value["_data_"], typed)
            if typed and value["_type_"] == "uuid_hex":
                return UUID(data)
            if typed and value["_type_"] == "datetime_iso":
                return datetime.fromisoformat(data)
            return data
        return {k: _unwrapped(v, typed) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrapped(v, typed) for v in value]
    return value


def _msgpack() -> Any:
    try:
        import msgspec  # optional: a side measurement only
    except ImportError:
        return None
    return msgspec.msgpack.Encoder(uuid_format="bytes")


def anatomy(rows: list[tuple[str, bytes, int, int]], n: int) -> None:
    """Per event type: count per contact, row, topic, state, wrappers, times, sealed addresses."""
    parts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for topic, state, row_size, topic_size in rows:
        kind = parts[topic.rsplit(".", 1)[-1]]
        kind["events"] += 1
        kind["row"] += row_size
        kind["topic"] += topic_size
        kind["state"] += len(state)
        for found in WRAPPER.finditer(state):
            value = len(found.group(2))
            kind["wrappers"] += len(found.group(0)) - value
            if found.group(1) == b"datetime_iso":
                kind["times"] += value
        kind["sealed"] += sum(len(m.group(1)) for m in SEALED_ADDRESSES.finditer(state))
    print("\nEvents per sent contact, by type (bytes per contact; 'row' is the whole stored row):")
    head = ("per contact", "row", "topic", "state", "wrappers", "time values", "sealed addr.")
    print(f"  {'type':<22}" + "".join(f"{h:>13}" for h in head))
    keys = ("events", "row", "topic", "state", "wrappers", "times", "sealed")
    totals: dict[str, float] = defaultdict(float)
    for name, kind in sorted(parts.items(), key=lambda item: -item[1]["row"]):
        for key in keys:
            totals[key] += kind[key]
        print(f"  {name:<22}" + "".join(f"{kind[key] / n:>13,.1f}" for key in keys))
    print(f"  {'all':<22}" + "".join(f"{totals[key] / n:>13,.1f}" for key in keys))


def encodings(states: list[bytes]) -> None:
    """The same sample of stored states in other encodings, bytes per event on average."""
    packer = _msgpack()
    sizes: dict[str, int] = defaultdict(int)
    for stored in states:
        state = expanded(stored)  # the library's JSON, also of a state stored compacted
        plain = json.dumps(_unwrapped(json.loads(state), False), separators=(",", ":"), ensure_ascii=False)
        sizes["stored (library JSON)"] += len(state)
        sizes["as stored (compacted or headed, storage/compact_states.py)"] += len(stored)
        sizes["stored, zlib (library's compressor)"] += len(zlib.compress(state))
        sizes["compact JSON, no wrappers (orjson/msgspec)"] += len(plain.encode())
        sizes["compact JSON, no wrappers, zlib"] += len(zlib.compress(plain.encode()))
        if packer is not None:
            sizes["msgspec MessagePack, uuid 16 B"] += len(packer.encode(_unwrapped(json.loads(state), True)))
    if packer is None:
        sizes["msgspec MessagePack: not measured (pip install msgspec)"] = 0
    stored = sizes["stored (library JSON)"]
    print(f"\nA sample of {len(states):,} stored states encoded again (bytes per event, share of stored):")
    for name, size in sizes.items():
        print(f"  {name:<52} {size / len(states):>8,.1f} {size / stored:>7.0%}")


def print_event_bytes(url: str, n: int, sample: int) -> None:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """SELECT topic, state, pg_column_size(e.*), pg_column_size(topic)
               FROM campaigns_events e"""
        ).fetchall()
    anatomy([(t, bytes(s), r, ts) for t, s, r, ts in rows], n)
    biggest = max(rows, key=lambda row: len(row[1]))
    print(f"\nThe largest stored event ({biggest[0]}), as stored:\n  {expanded(bytes(biggest[1])).decode()}")
    step = max(1, len(rows) // max(sample, 1))
    encodings([bytes(row[1]) for row in rows[::step]])
