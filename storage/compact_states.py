"""Stored event states compacted: an aggregate's events after its first are stored deflated.

A send's events (StepAttempted, StepSent, then the provider's reports) are small JSON objects
whose keys and the transcoder's wrappers (`{"_type_":"uuid_hex","_data_":...}`) are most of their
bytes; deflate alone gains little on 400 bytes, deflate with a preset dictionary holding those
objects' skeleton about two thirds (decision record 35). The stored state is then the marker byte
0x01 (JSON always starts with `{`) and the raw deflate stream against `DICTIONARY_V1`. That
dictionary is part of the stored format: it never changes (a test pins it); another would take
another marker.

Stored as JSON, as before: an aggregate's first event (PostgreSQL reads its `brand_id` and
`campaign_id` and looks for sealed values in it: the audits, the export, the resealer), the classes
the application names (`plain_classes`: what a relay picks out of the stored bytes), and every
event when the library's own compressor or cipher is configured. Every state is read whichever way
it was stored; `expanded` gives a reader of the raw rows (the export) the JSON.
"""

from __future__ import annotations

import zlib
from typing import Any

from eventsourcing.persistence import StoredEvent

from storage.stored_times import OwnTimeOnceMapper

MARK_V1 = b"\x01"
# The JSON of one enrollment's events after its first (zero ids, times in 2026), the commonest
# last (deflate reaches the dictionary's end cheapest). Frozen: stored states need it to be read.
DICTIONARY_V1 = (
    b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-01-01T00:00:00+00:00"},"campaign_id'
    b'":{"_type_":"uuid_hex","_data_":"00000000000000000000000000000000"},"step_id":"step","ch'
    b'annel":"email","group":0,"redispatched":false,"class_version":2}'
    b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-01-01T00:00:03+00:00"},"campaign_id'
    b'":{"_type_":"uuid_hex","_data_":"00000000000000000000000000000000"},"step_id":"step","ur'
    b'l":"https://"}'
    b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-01-01T00:00:02+00:00"},"campaign_id'
    b'":{"_type_":"uuid_hex","_data_":"00000000000000000000000000000000"},"step_id":"step"}'
    b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-01-01T00:00:01+00:00"},"campaign_id'
    b'":{"_type_":"uuid_hex","_data_":"00000000000000000000000000000000"},"step_id":"step","ch'
    b'annel":"email","detail":"delivered"}'
    b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-01-01T00:00:00+00:00"},"step_id":"s'
    b'tep","sender_account_id":"00000000-0000-0000-0000-000000000000","message_key":"3ea59244-'
    b'9a5d-52a8-bf6a-1a14b866cd1d:step","campaign_id":{"_type_":"uuid_hex","_data_":"000000000'
    b'00000000000000000000000"},"class_version":2}'
    b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-01-01T00:00:00+00:00"},"campaign_id'
    b'":{"_type_":"uuid_hex","_data_":"00000000000000000000000000000000"},"step_id":"step","ch'
    b'annel":"email","sender_account_id":"00000000-0000-0000-0000-000000000000","provider_mess'
    b'age_id":"id","credits":1,"personalisation":"template","next_group":1,"next_due_at":{"_ty'
    b'pe_":"datetime_iso","_data_":"2026-01-02T00:00:00+00:00"},"finished":false,"class_versio'
    b'n":3}'
)


def compact(state: bytes) -> bytes:
    """The state as stored compacted: the marker, then raw deflate against the dictionary."""
    # A 2 KiB window holds the whole dictionary: a 32 KiB one gives the same bytes and costs 15 times
    # as much CPU to set up per state (about 200 µs instead of 15). Any window reads back (-15).
    deflate = zlib.compressobj(9, zlib.DEFLATED, -11, 2, zlib.Z_DEFAULT_STRATEGY, DICTIONARY_V1)
    return MARK_V1 + deflate.compress(state) + deflate.flush()


def is_compact(state: bytes) -> bool:
    return state[:1] == MARK_V1


def expanded(state: bytes) -> bytes:
    """A stored state's JSON, whichever way it was stored."""
    if not is_compact(state):
        return state
    # A whole stream comes out of one decompress() (flush() adds only what a max_length held back).
    return zlib.decompressobj(-15, DICTIONARY_V1).decompress(state[1:])


class CompactMapper(OwnTimeOnceMapper):
    """The store's mapper (each event's own time stored once), compacting the states of an
    aggregate's events after its first, except those of `plain_classes`."""

    plain_classes: tuple[type, ...] = ()

    def _compacts(self) -> bool:
        return self.compressor is None and self.cipher is None

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        stored = super().to_stored_event(domain_event)
        if (
            stored.originator_version == 1
            or isinstance(domain_event, self.plain_classes)
            or not self._compacts()
        ):
            return stored
        return StoredEvent(
            stored.originator_id, stored.originator_version, stored.topic, compact(stored.state)
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        if self._compacts() and is_compact(stored_event.state):
            stored_event = StoredEvent(
                stored_event.originator_id,
                stored_event.originator_version,
                stored_event.topic,
                expanded(stored_event.state),
            )
        return super().to_domain_event(stored_event)
