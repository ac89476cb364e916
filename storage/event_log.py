"""Reading the event store's notification log from a position, optionally only some event classes.

The PostgreSQL recorder commits notifications in id order (a table lock per insert), so every id
up to the current head is committed: a filtered read may move its position up to the head even
when no event of interest lies in between, and nothing it skipped can still appear.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary

from eventsourcing.application import Application
from eventsourcing.persistence import Mapper
from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.utils import get_topic
from psycopg import sql

from storage.database import Database
from storage.event_decoding import EventDecoder
from storage.event_json import sealed_key_ids
from storage.event_recorder import CampaignEventRecorder


def read_log(
    store: Application[UUID],
    after: int,
    limit: int,
    classes: Sequence[type] = (),
    having: tuple[str, Sequence[str | UUID]] | None = None,
) -> tuple[list[tuple[int, Any]], int]:
    """Up to `limit` (position, event) pairs after `after`, and the position read through; with
    `having` (a field, its wanted text values) only the events of `classes` whose field, or the
    field of a dict in one of their lists, is one of them (PostgreSQL hands over the rows whose
    bytes hold `"field":"value"`, or an id's hex for a UUID value, which may be a few more:
    filtered here)."""
    recorder = store.recorder
    decode = store.mapper.to_domain_event
    if not classes:
        notes = recorder.select_notifications(after, limit, inclusive_of_start=False)
        return [(n.id, decode(n)) for n in notes], (notes[-1].id if notes else after)
    head = recorder.max_notification_id() or 0
    if head <= after:
        return [], after
    topics = [get_topic(cls) for cls in classes]
    if isinstance(recorder, CampaignEventRecorder):
        searched = having is not None and _plain_json(store)
        needles = _field_needles(*having) if having is not None and searched else []
        rows = recorder.select_rows(after, head, topics, limit, needles)
        through = rows[-1][0] if len(rows) == limit else head
        fast = decoder(store).decode
        events = [(row[0], fast(row[1], row[2], row[3], row[4])) for row in rows]
    else:
        notes = recorder.select_notifications(
            after, limit, stop=head, topics=topics, inclusive_of_start=False
        )
        through = notes[-1].id if len(notes) == limit else head
        events = [(n.id, decode(n)) for n in notes]
    if having is not None:
        field, values = having
        events = [(position, event) for position, event in events if _holds(event, field, values)]
    return events, through


_DECODERS: WeakKeyDictionary[Mapper[UUID], EventDecoder] = WeakKeyDictionary()


def decoder(store: Application[UUID]) -> EventDecoder:
    """The store's mapper's faster twin (made once per mapper: the seal replaces the mapper)."""
    found = _DECODERS.get(store.mapper)
    if found is None:
        found = _DECODERS[store.mapper] = EventDecoder(store.mapper)
    return found


def _holds(event: Any, field: str, values: Sequence[str | UUID]) -> bool:
    """Whether the event's `field`, or that of a dict in one of its lists, is one of `values`."""
    if getattr(event, field, None) in values:
        return True
    return any(
        isinstance(items, list)
        and any(isinstance(item, dict) and item.get(field) in values for item in items)
        for items in vars(event).values()
    )


def _plain_json(store: Application[UUID]) -> bool:
    """Whether stored states are the transcoder's JSON as written (neither compressed nor
    encrypted), so a field's value can be looked for in their bytes."""
    return store.mapper.compressor is None and store.mapper.cipher is None


def _field_needles(field: str, values: Sequence[str | UUID]) -> list[bytes]:
    """The bytes `"field":"value"` of each text value, as the event store's JSON transcoder writes
    them (compact separators, no ASCII escaping), and the hex of each UUID value (the transcoder
    wraps an id as its hex) and its 16 bytes (a headed enrolment's head holds its owners so,
    storage/compact_states.py): every stored event whose field has one of the values holds one of
    them. A text that merely contains them gives a row more, which `read_log` drops after decoding."""
    key = json.dumps(field, ensure_ascii=False)
    needles: list[bytes] = []
    for value in values:
        if isinstance(value, UUID):
            needles += [value.hex.encode(), value.bytes]
        else:
            needles.append(f"{key}:{json.dumps(value, ensure_ascii=False)}".encode())
    return needles


def read_one(store: Application[UUID], position: int) -> tuple[int, Any]:
    """The (position, event) stored at one log position (LookupError if there is none)."""
    notes = store.recorder.select_notifications(position, 1)
    if not notes or notes[0].id != position:
        raise LookupError(f"no event at log position {position}")
    return position, store.mapper.to_domain_event(notes[0])


def brand_of(store: Application[UUID], event: Any) -> UUID | None:
    """The brand an event belongs to, for the operator: its own field, else the first event of its
    campaign's, else of its own aggregate's (an enrollment names its brand even when its campaign
    cannot be found, which is often why the event could not be processed)."""
    brand = getattr(event, "brand_id", None)
    if isinstance(brand, UUID):
        return brand
    for owner in (getattr(event, "campaign_id", None), getattr(event, "originator_id", None)):
        if not isinstance(owner, UUID):
            continue
        try:
            first = store.recorder.select_events(owner, limit=1)
            found = getattr(store.mapper.to_domain_event(first[0]), "brand_id", None) if first else None
        except Exception:  # only a hint for the operator: never a reason to fail
            continue
        if isinstance(found, UUID):
            return found
    return None


def events_table(store: Application[UUID]) -> sql.Composed:
    """The PostgreSQL recorder's events table, for a query the recorder does not offer (TypeError
    with another recorder). Its columns: originator_id, originator_version, topic, state and
    notification_id (the log position)."""
    recorder = store.recorder
    if not isinstance(recorder, PostgresAggregateRecorder):
        raise TypeError("only the PostgreSQL recorder's table can be queried")
    return sql.SQL("{}.{}").format(
        sql.Identifier(recorder.datastore.schema), sql.Identifier(recorder.events_table_name)
    )


def last_position(store: Application[UUID], db: Database, originator_id: UUID) -> int | None:
    """The log position of an aggregate's latest event (None without one): what a read model must
    have applied to show the aggregate as it is now."""
    query = sql.SQL(
        "SELECT notification_id FROM {events} WHERE originator_id = %s ORDER BY originator_version DESC LIMIT 1"
    ).format(events=events_table(store))
    row = db.fetch_one(query, (originator_id,))
    return row["notification_id"] if row else None


def to_event(store: Application[UUID], row: dict[str, Any]) -> Any:
    """The domain event of one events-table row (upcast to its class's current version), by the
    mapper's faster twin (the same event: `decoder`), as the log's reading decodes."""
    return decoder(store).decode(
        row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"])
    )


def erased_keys(db: Database, states: Sequence[bytes]) -> frozenset[str]:
    """The personal-data keys, among those the stored states' sealed values name, that were erased
    (their values show as `erased`): one query, none for states with no sealed value."""
    keys = sealed_key_ids(states)
    if not keys:
        return frozenset()
    rows = db.fetch_all(
        "SELECT key_id::text AS key_id FROM personal_data_keys WHERE key_id = ANY(%s::uuid[]) AND sealed_key IS NULL",
        (sorted(keys),),
    )
    return frozenset(row["key_id"] for row in rows)
