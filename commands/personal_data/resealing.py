"""Use case: seal, in place, the personal data of a brand's events stored before sealing.

`ContactEnrolled` before v5 and `ConsentOpened` before v2 (or any version written without a
CREDENTIALS_KEY) hold addresses in plain text, which erasing the person could not reach. Batch by
batch, each event is re-encoded by the store's own mapper as it would be stored today (the
person's key minted as enrolment and consent mint it, key id = contact id or consent id; values
sealed, keyed hashes beside them, current class version), its row's state is rewritten (same
aggregate, version, log position) and its aggregate's hash-chain links are computed again from
that row on. A batch is one transaction, taken under the event store writers' lock, that also
records the batch as an EventsResealed event with each row's old and new link and chain head
(storage/migrations/0021_reseal_event_rows.sql). An aggregate whose chain is already broken is not
rewritten (that would launder the break) but reported. Which events remain is read from the events
themselves, so a second run changes nothing and a run stopped part-way finishes on the next.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import psycopg
from eventsourcing.persistence import IntegrityError, PersistenceError, StoredEvent
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Composed

from commands.application import MAX_CONFLICT_RETRIES, CampaignApplication
from commands.personal_data.sealing import PersonalDataSeal, is_sealed
from domain.address_consent import AddressConsent
from domain.enrollment import Enrollment
from domain.enrollment_events import ContactEnrolled
from domain.errors import Unavailable
from domain.resealing import EventResealing
from storage.compact_states import owner_sql
from storage.event_chain import ChainBreak, chain_link, first_break
from storage.event_json import ERASED
from storage.event_log import events_table
from storage.stored_events import aggregate_rows

BATCH = 200  # events rewritten in one transaction (the writers wait for it: keep it short)
TOPICS = (get_topic(Enrollment.ContactEnrolled), get_topic(AddressConsent.ConsentOpened))  # as stored
# Only a first event's brand is readable to PostgreSQL (later ones may be compacted:
# storage/compact_states.py): CASE keeps the reading off every other row, whatever order the
# planner gives the conditions. A headed enrolment was sealed when it was stored.
BRAND = f"CASE WHEN e.originator_version = 1 THEN {owner_sql('e.state', 'brand_id')} END"
PLAIN = """e.topic = ANY(%(topics)s) AND e.originator_version = 1
           AND position('"pd1:'::bytea IN e.state) = 0 AND substring(e.state FROM 1 FOR 1) <> '\\x02'::bytea"""
# A row of storage.stored_events.aggregate_rows: position, aggregate, version, topic, state, link.
Row = tuple[int | None, UUID, int, str | None, bytes | None, bytes | None]
REWRITE = """SELECT reseal_event_rows(%s::uuid[], %s::bigint[], %s::bytea[], %s::bytea[],
                                      %s::uuid[], %s::bigint[], %s::bytea[],
                                      %s::uuid[], %s::bigint[], %s::bytea[])"""


class ResealUnavailable(Unavailable):
    """Personal data are not sealed here (no CREDENTIALS_KEY): there is no key to seal with."""


@dataclass
class Resealed:
    """What a run did for one brand."""

    brand_id: UUID
    events: int = 0  # stored events rewritten
    batches: int = 0
    refused: list[ChainBreak] = field(default_factory=list)  # aggregates left alone: broken chain


@dataclass
class _Batch:
    """A batch read and re-encoded: the columns `reseal_event_rows` takes, and what its
    EventsResealed records."""

    refused: list[ChainBreak]
    # The columns, each a list: the rewritten rows (aggregate, version, old state, new state), the
    # heads as read (aggregate, version, link) and the new links (aggregate, version, link).
    rows: tuple[list[Any], ...] = field(default_factory=lambda: ([], [], [], []))
    heads: tuple[list[Any], ...] = field(default_factory=lambda: ([], [], []))
    links: tuple[list[Any], ...] = field(default_factory=lambda: ([], [], []))
    recorded: list[dict[str, Any]] = field(default_factory=list)

    def add(self, stream: list[Row], new_state: bytes) -> None:
        """One aggregate whose first row takes `new_state`: that row, its head and every new link."""
        first, head = stream[0], stream[-1]
        aggregate_id, old_head = first[1], bytes(head[5] or b"")
        links: list[bytes] = []
        for _, _, version, topic, state, _ in stream:
            stored = new_state if not links else (state or b"")
            links.append(chain_link(links[-1] if links else None, aggregate_id, version, topic or "", stored))
            _append(self.links, aggregate_id, version, links[-1])
        _append(self.rows, aggregate_id, first[2], first[4] or b"", new_state)
        _append(self.heads, aggregate_id, head[2], old_head)
        self.recorded.append(
            {
                "aggregate_id": str(aggregate_id),
                "version": first[2],
                "old_link": bytes(first[5] or b"").hex(),
                "new_link": links[0].hex(),
                "head_version": head[2],
                "old_head": old_head.hex(),
                "new_head": links[-1].hex(),
            }
        )

    def arguments(self) -> tuple[list[Any], ...]:
        return (*self.rows, *self.heads, *self.links)


def brands_to_reseal(store: CampaignApplication, url: str) -> list[UUID]:
    """The brands that still have events with personal data in plain text."""
    _seal(store)
    statement = SQL(f"SELECT DISTINCT {BRAND} FROM {{table}} e WHERE {PLAIN}").format(
        table=events_table(store)
    )
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(statement, {"topics": list(TOPICS)}).fetchall()
    return sorted(UUID(row[0]) for row in rows if row[0])


def plain_events(store: CampaignApplication, url: str, brand_id: UUID) -> int:
    """How many of the brand's events may still hold personal data in plain text (an upper bound)."""
    statement = SQL(f"SELECT count(*) FROM {{table}} e WHERE {PLAIN} AND {BRAND} = %(brand)s")
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            statement.format(table=events_table(store)), {"topics": list(TOPICS), "brand": brand_id.hex}
        ).fetchone()
    return int(row[0]) if row else 0


def reseal_brand(
    store: CampaignApplication,
    url: str,
    brand_id: UUID,
    resealed_by: str,
    now: Callable[[], datetime],
    batch_size: int = BATCH,
    progress: Callable[[int], None] = lambda _: None,
    after_read: Callable[[list[UUID]], None] = lambda _: None,
) -> Resealed:
    """Reseal the brand's events; `progress` hears the events rewritten so far, `after_read` the
    aggregates of each batch once read and before they are written (where a concurrent writer's
    append would fall)."""
    seal = _seal(store)
    table = events_table(store)
    done = Resealed(brand_id)
    # This run's record: an aggregate of its own, begun with its first batch and kept here, so a
    # batch never reads back the ones before it.
    record_id, record = uuid4(), None
    with psycopg.connect(url, autocommit=True) as conn:
        after = 0
        while True:
            params = {"topics": list(TOPICS), "after": after, "brand": brand_id.hex, "size": batch_size}
            found = conn.execute(_candidates(table), params).fetchall()
            if not found:
                return done
            ids = [row[1] for row in found]
            for attempt in range(MAX_CONFLICT_RETRIES):
                batch = _read(store, seal, conn, table, ids)
                after_read(ids)
                try:
                    record = _write(store, brand_id, (record_id, record), batch, resealed_by, now())
                    break
                except PersistenceError as moved:  # another writer came first: read again
                    stored = store.find(record_id)  # the record here ran ahead of the store
                    record = stored if isinstance(stored, EventResealing) else None
                    if attempt == MAX_CONFLICT_RETRIES - 1 or not _moved(moved):
                        raise
            done.refused += batch.refused
            if batch.recorded:
                done.events, done.batches = done.events + len(batch.recorded), done.batches + 1
                progress(done.events)
            after = found[-1][0]


def _seal(store: CampaignApplication) -> PersonalDataSeal:
    if store.personal_data is None:
        raise ResealUnavailable("personal data are not sealed: set CREDENTIALS_KEY to reseal events")
    return store.personal_data


def _candidates(table: Composed) -> Composed:
    """Creation events of the two topics of one brand, after a log position, with no sealed value
    in their bytes (a few more than need it, such as those whose addresses were erased: `_read`
    drops them)."""
    return SQL(
        f"""SELECT e.notification_id, e.originator_id FROM {{table}} e
             WHERE {PLAIN} AND e.notification_id > %(after)s AND {BRAND} = %(brand)s
             ORDER BY e.notification_id LIMIT %(size)s"""
    ).format(table=table)


def _read(
    store: CampaignApplication,
    seal: PersonalDataSeal,
    conn: psycopg.Connection[Any],
    table: Composed,
    ids: Sequence[UUID],
) -> _Batch:
    """The batch's aggregates read with their links, each chain checked, the creation events that
    hold plain addresses re-encoded, and every link from them on computed again."""
    streams: dict[UUID, list[Row]] = {}
    for row in aggregate_rows(conn, table, ids):
        streams.setdefault(row[1], []).append(row)
    breaks = {aggregate_id: first_break(stream) for aggregate_id, stream in streams.items()}
    refused = [broken for broken in breaks.values() if broken is not None]
    plain = []
    for aggregate_id, stream in streams.items():
        _, _, version, topic, state, _ = stream[0]
        if breaks[aggregate_id] is None and topic in TOPICS:  # a whole chain: its first row is v1
            event = store.mapper.to_domain_event(
                StoredEvent(aggregate_id, version, topic or "", state or b"")
            )
            if _holds_plain(event):
                plain.append((stream, event))
    seal.ensure_keys(_key(event) for _, event in plain)  # the batch's keys in one insert
    batch = _Batch(refused=refused)
    for stream, event in plain:
        batch.add(stream, store.mapper.to_stored_event(event).state)
    return batch


def _append(columns: Sequence[list[Any]], *values: Any) -> None:
    for column, value in zip(columns, values, strict=True):
        column.append(value)


def _holds_plain(event: Any) -> bool:
    """Whether an event still holds an address in plain text (neither sealed nor erased)."""
    values = event.addresses.values() if isinstance(event, ContactEnrolled) else [event.address]
    return any(not is_sealed(value) and value != ERASED for value in values)


def _key(event: Any) -> tuple[UUID, UUID, str]:
    """The key an event is sealed with, as enrolment and consent mint it: (key id, brand, kind)."""
    if isinstance(event, ContactEnrolled):
        return event.contact_id, event.brand_id, "contact"
    return event.originator_id, event.brand_id, "consent"


def _write(
    store: CampaignApplication,
    brand_id: UUID,
    run: tuple[UUID, EventResealing | None],
    batch: _Batch,
    by: str,
    at: datetime,
) -> EventResealing | None:
    """The batch rewritten and recorded on the run's record (begun with its first batch), in one
    transaction under the writers' lock; the record as saved."""
    record_id, record = run
    if not batch.recorded:
        return record
    if record is None:
        record = EventResealing.begin(record_id, brand_id, by, at)
    record.record(batch.recorded, by, at)
    store.save(record, alongside=[(REWRITE, batch.arguments())])
    return record


def _moved(error: Exception) -> bool:
    """Whether a failed write lost to another writer: reseal_event_rows refused an aggregate that
    changed since it was read (its messages' prefix), or a version was taken."""
    return isinstance(error, IntegrityError) or str(error).startswith("reseal:")
