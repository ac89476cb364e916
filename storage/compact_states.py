"""Stored event states compacted: an aggregate's events after its first are stored deflated.

A send's events (StepAttempted, StepSent, then the provider's reports) are small JSON objects
whose keys and the transcoder's wrappers (`{"_type_":"uuid_hex","_data_":...}`) are most of their
bytes; deflate alone gains little on 400 bytes, deflate with a preset dictionary holding those
objects' skeleton about two thirds (decision record 35). The stored state is then the marker byte
0x01 (JSON always starts with `{`) and the raw deflate stream against `DICTIONARY_V1`. That
dictionary is part of the stored format: it never changes (a test pins it); another would take
another marker.

An aggregate's first event is read by PostgreSQL (its `brand_id` for the audits and the resealer,
its `campaign_id` for the export, a relay's channel): it stays JSON, but for the classes the
application names `headed_classes` (an enrolment, once its addresses are sealed), stored as the
marker 0x02, a plain head of what PostgreSQL reads (`owner_sql`) and searches (`read_log`'s
needles): the brand's and the campaign's ids (16 bytes each) and a `"channel":"..."` for each step
dispatched with it; then 0x00 and the raw deflate stream of the whole JSON against
`DICTIONARY_ENROLMENT` followed by that head as text. Stored as JSON, as before: the classes of `plain_classes` (what a relay picks out of
the stored bytes), an unsealed enrolment (the resealer finds those by the absence of a sealed value
in their bytes), and every event when the library's own compressor or cipher is configured. Every
state is read whichever way it was stored; `expanded` gives a reader of the raw rows the JSON.
"""

from __future__ import annotations

import zlib
from typing import Any, Literal

import orjson
from eventsourcing.persistence import StoredEvent

from storage.stored_times import OwnTimeOnceMapper

MARK_V1 = b"\x01"
# A JSON value that is sealed (storage/event_json.py SEALED_PREFIX); inside a text a quote is escaped.
SEALED = b':"pd1:'
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


MARK_HEADED = b"\x02"
# The JSON of one sealed enrolment (zero ids, times in 2026, a one-step plan), frozen as above.
DICTIONARY_ENROLMENT = (
    b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-01-01T00:00:00.000000+00:00"},"origin'
    b'ator_topic":"domain.enrollment:Enrollment","campaign_id":{"_type_":"uuid_hex","_data_":"000'
    b'00000000000000000000000000000"},"brand_id":{"_type_":"uuid_hex","_data_":"0000000000000000'
    b'0000000000000000"},"contact_id":{"_type_":"uuid_hex","_data_":"00000000000000000000000000000'
    b'000"},"addresses":{"sms":"pd1:00000000-0000-0000-0000-000000000000:","voicemail":"pd1:0000000'
    b'0-0000-0000-0000-000000000000:","email":"pd1:00000000-0000-0000-0000-000000000000:"},"plan":['
    b'{"id":"step","type":"SMS","group":1,"order":0,"subject":null,"body":"","audio_url":null,"wait'
    b'_days":0},{"id":"00000000-0000-0000-0000-000000000000","type":"EMAIL","group":0,"order":0,"su'
    b'bject":"Hi {{first_name}}","body":"Hello","audio_url":null,"wait_days":0}],"window":{"days":['
    b'"mon","tue","wed","thu","fri","sat","sun"],"start":"00:00","end":"24:00"},"timezone":"UTC","g'
    b'roup":0,"due_at":{"_type_":"datetime_iso","_data_":"2026-01-01T00:00:00.000000+00:00"},"dispa'
    b'tched":[{"step_id":"00000000-0000-0000-0000-000000000000","channel":"email"}],"address_hashes'
    b'":{"sms":"","voicemail":"","email":""},"class_version":5}'
)
# Where PostgreSQL finds an owner's hex in a headed state (1-based, as SQL's substring counts).
_HEAD_AT = {"brand_id": 2, "campaign_id": 18}
_HEAD_IDS = 33  # the marker and the two ids: the channels' text follows, up to 0x00


def owner_sql(state: str, field: Literal["brand_id", "campaign_id"]) -> str:
    """SQL text of the hex id a first event's `field` holds, from its stored `state` (a column's
    name), however it was stored; braces doubled, for psycopg's `SQL(...).format`. Only for an
    aggregate's first event: a later one may be compacted without a head."""
    return (
        f"CASE WHEN substring({state} FROM 1 FOR 1) = '\\x02'::bytea"
        f" THEN encode(substring({state} FROM {_HEAD_AT[field]} FOR 16), 'hex')"
        f" ELSE convert_from({state}, 'UTF8')::jsonb #>> '{{{{{field},_data_}}}}' END"
    )


def compact_headed(state: bytes) -> bytes:
    """A first event's state stored headed: the marker, its owners' ids (16 bytes each) and its
    dispatched channels' text in plain, 0x00, then raw deflate against the enrolment's dictionary
    followed by the head as text."""
    plain: dict[str, Any] = orjson.loads(state)
    owners = str(plain["brand_id"]["_data_"]) + str(plain["campaign_id"]["_data_"])
    channels = "".join(f'"channel":"{d["channel"]}"' for d in plain.get("dispatched") or ()).encode()
    # The head ends the dictionary, so the JSON's copies of its ids cost a reference each. Memory
    # level 4 (not 2, as above): a long plan's texts stay in one block of one Huffman table.
    preset = DICTIONARY_ENROLMENT + owners.encode() + channels
    deflate = zlib.compressobj(9, zlib.DEFLATED, -11, 4, zlib.Z_DEFAULT_STRATEGY, preset)
    return (
        MARK_HEADED + bytes.fromhex(owners) + channels + b"\x00" + deflate.compress(state) + deflate.flush()
    )


def compact(state: bytes) -> bytes:
    """The state as stored compacted: the marker, then raw deflate against the dictionary."""
    # A 2 KiB window holds the whole dictionary: a 32 KiB one gives the same bytes and costs 15 times
    # as much CPU to set up per state (about 200 µs instead of 15). Any window reads back (-15).
    deflate = zlib.compressobj(9, zlib.DEFLATED, -11, 2, zlib.Z_DEFAULT_STRATEGY, DICTIONARY_V1)
    return MARK_V1 + deflate.compress(state) + deflate.flush()


def is_compact(state: bytes) -> bool:
    return state[:1] in (MARK_V1, MARK_HEADED)


def expanded(state: bytes) -> bytes:
    """A stored state's JSON, whichever way it was stored."""
    mark = state[:1]
    # A whole stream comes out of one decompress() (flush() adds only what a max_length held back).
    if mark == MARK_V1:
        return zlib.decompressobj(-15, DICTIONARY_V1).decompress(state[1:])
    if mark == MARK_HEADED:
        end = state.index(b"\x00", _HEAD_IDS)
        preset = DICTIONARY_ENROLMENT + state[1:_HEAD_IDS].hex().encode() + state[_HEAD_IDS:end]
        return zlib.decompressobj(-15, preset).decompress(state[end + 1 :])
    return state


def stored_like(stored: bytes, state: bytes) -> bytes:
    """The JSON `state` stored the way `stored` was (JSON, compacted or headed): what a tamperer
    with SQL, or a benchmark copying history, writes back."""
    mark = stored[:1]
    return compact(state) if mark == MARK_V1 else compact_headed(state) if mark == MARK_HEADED else state


class CompactMapper(OwnTimeOnceMapper):
    """The store's mapper (each event's own time stored once), compacting the states of an
    aggregate's events after its first, except those of `plain_classes`, and the first events of
    `headed_classes` whose personal data are sealed."""

    plain_classes: tuple[type, ...] = ()
    headed_classes: tuple[type, ...] = ()

    def _compacts(self) -> bool:
        return self.compressor is None and self.cipher is None

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        stored = super().to_stored_event(domain_event)
        if isinstance(domain_event, self.plain_classes) or not self._compacts():
            return stored
        if stored.originator_version != 1:
            state = compact(stored.state)
        elif isinstance(domain_event, self.headed_classes) and SEALED in stored.state:
            state = compact_headed(stored.state)
        else:
            return stored
        return StoredEvent(stored.originator_id, stored.originator_version, stored.topic, state)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        if self._compacts() and is_compact(stored_event.state):
            stored_event = StoredEvent(
                stored_event.originator_id,
                stored_event.originator_version,
                stored_event.topic,
                expanded(stored_event.state),
            )
        return super().to_domain_event(stored_event)
