"""The rows of an event export: one per stored event, with its brand and campaign, filtered.

Reads raw stored events page by page (storage/stored_events.py) up to the log head as it stood at
the start, so an export of a live store ends. Each row's brand and campaign come from the event
itself when it names them, else from its campaign's or its ledger's first event, looked up once
and remembered (campaigns and ledgers are few; enrollments, which are many, are never
remembered). Fields that could hold a secret are never exported, whatever an event carries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.sql import Composed

from projections.history.event_topics import campaign_topic_prefix, ownerless_topics, topics_for
from storage.compact_states import expanded
from storage.event_json import (
    decoded_state,
    json_text,
    sealed_key_ids,
    stored_state_to_json,
    topic_type,
    without_personal_data,
)
from storage.stored_events import first_event_state, head_position, pages, read_ahead
from storage.stored_times import with_own_time

COLUMNS = ("position", "occurred_at", "type", "aggregate_id", "version", "brand_id", "campaign_id", "data")
ENVELOPE = ("timestamp", "originator_topic")
# Never exported, at any depth: sender account credentials and anything named like them.
SECRET_FIELDS = frozenset(
    {"credentials", "password", "secret", "client_secret", "token", "access_token", "refresh_token"}
    | {"auth_token", "api_key", "private_key"}
)

# A stored event whose bytes name none of them needs no walk through its fields (the usual case);
# a substring test per word is several times faster than one alternation regex.
_SECRET_WORDS = tuple(sorted({b"credential", b"password", b"secret", b"token", b"api_key", b"private_key"}))


def _may_hold_secrets(state: bytes) -> bool:
    lowered = state.lower()
    return any(word in lowered for word in _SECRET_WORDS)


_DAY_IN_A_ZONE = re.compile(r"\d{4}-\d{2}-\d{2}[+-]\d{2}(:?\d{2})?")


@dataclass(frozen=True)
class ExportFilter:
    since: datetime | None = None  # occurred at or after
    until: datetime | None = None  # occurred before
    types: tuple[str, ...] = ()
    brand_id: str | None = None


def parse_time(text: str) -> datetime:
    """An RFC 3339 / ISO 8601 time; UTC when it names no zone; ValueError saying what is expected."""
    written = text.replace("Z", "+00:00").replace("z", "+00:00")
    if _DAY_IN_A_ZONE.fullmatch(written):
        # Python reads a zone after a bare day as the time of day (`2026-11-29+05:00` as 05:00):
        # the day's midnight in that zone is what the writer meant.
        written = f"{written[:10]}T00:00:00{written[10:]}"
    try:
        moment = datetime.fromisoformat(written)
    except ValueError:
        raise ValueError(
            f"bad time {text!r}: use ISO 8601, e.g. 2026-11-29 or 2026-11-29T08:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_secrets(v) for k, v in value.items() if k.lower() not in SECRET_FIELDS}
    if isinstance(value, list):
        return [without_secrets(v) for v in value]
    return value


class Owners:
    """Brand of a campaign or a ledger, from its first event, remembered."""

    def __init__(self, conn: psycopg.Connection[Any], table: Composed) -> None:
        self.conn, self.table = conn, table
        self.brands: dict[str, str | None] = {}

    def learn(self, aggregate_id: str, brand: str) -> None:
        self.brands[aggregate_id] = brand

    def brand_of(self, aggregate_id: str) -> str | None:
        if aggregate_id not in self.brands:
            state = first_event_state(self.conn, self.table, aggregate_id)
            brand = stored_state_to_json(expanded(state)).get("brand_id") if state else None
            self.brands[aggregate_id] = brand if isinstance(brand, str) else None
        return self.brands[aggregate_id]


def _hyphenated(hex_id: str | None) -> str | None:
    if not hex_id:
        return None
    return f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"


def export_rows(
    conn: psycopg.Connection[Any],
    table: Composed,
    wanted: ExportFilter,
    progress: Callable[[int, int], None] | None = None,
    page_size: int = 5_000,
) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of rows in COLUMNS order (occurred_at a datetime, data a JSON string), log order."""
    topics = topics_for(list(wanted.types)) if wanted.types else []
    owners = Owners(conn, table)
    through = head_position(conn, table)
    # The pages come on a connection of their own: `owners` looks up brands on `conn` meanwhile.
    with psycopg.connect(conn.info.dsn, password=conn.info.password, autocommit=True) as reader:
        yield from _rows(reader, table, wanted, owners, through, topics, progress, page_size)


def _rows(
    reader: psycopg.Connection[Any],
    table: Composed,
    wanted: ExportFilter,
    owners: Owners,
    through: int,
    topics: list[str],
    progress: Callable[[int, int], None] | None,
    page_size: int,
) -> Iterator[list[tuple[Any, ...]]]:
    campaign_prefix = campaign_topic_prefix()
    found = pages(reader, table, through=through, topics=topics, ownerless=ownerless_topics(), size=page_size)
    for page in read_ahead(found):
        batch = []
        # The page's states side by side (each a JSON object: no word or sealed value runs from one
        # into the next): one search for the whole page; a row is searched alone only when it finds one.
        plain = [expanded(row.state) for row in page]  # JSON, also where compacted
        states = b"".join(plain)
        erased = _erased_keys(reader, states)
        any_secrets = _may_hold_secrets(states)
        for row, state in zip(page, plain, strict=True):
            decoded, exact = decoded_state(state)
            with_own_time(row.topic, decoded)  # stored once: storage/stored_times.py
            data = without_personal_data(topic_type(row.topic), decoded, erased)
            occurred_at = datetime.fromisoformat(data["timestamp"].replace("Z", "+00:00"))
            if (wanted.since and occurred_at < wanted.since) or (
                wanted.until and occurred_at >= wanted.until
            ):
                continue
            for key in ENVELOPE:
                data.pop(key, None)
            campaign = data.get("campaign_id") or _hyphenated(row.owner_campaign)
            if campaign is None and row.topic.startswith(campaign_prefix):
                campaign = row.aggregate_id
            brand = data.get("brand_id")
            if isinstance(brand, str):
                owners.learn(campaign or row.aggregate_id, brand)  # an enrollment teaches its campaign's
            else:
                brand = owners.brand_of(campaign or row.aggregate_id)
            if wanted.brand_id and brand != wanted.brand_id:
                continue
            batch.append(
                (
                    row.position,
                    occurred_at,
                    topic_type(row.topic),
                    row.aggregate_id,
                    row.version,
                    brand,
                    campaign,
                    json_text(
                        without_secrets(data) if any_secrets and _may_hold_secrets(state) else data, exact
                    ),
                )
            )
        if progress:
            progress(page[-1].position, through)
        if batch:
            yield batch


def _erased_keys(reader: psycopg.Connection[Any], states: bytes) -> frozenset[str]:
    """The personal-data keys, among those the page's sealed values name, that were erased: their
    values are exported as `erased` (one query per page, none for a page with no sealed value)."""
    keys = sealed_key_ids([states])
    if not keys:
        return frozenset()
    with reader.cursor() as cur:
        cur.execute(
            "SELECT key_id::text FROM personal_data_keys WHERE key_id = ANY(%s::uuid[]) AND sealed_key IS NULL",
            (sorted(keys),),
        )
        return frozenset(row[0] for row in cur.fetchall())
