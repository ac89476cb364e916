"""A brand's suppression list: email addresses and phone numbers that must never be contacted.

Launch leaves suppressed addresses out of the audience it reserves credits for
(commands/campaigns/launch_audience.py), so an address is stored exactly as contacts store it (normalised
by commands/audience/contact_normalisation.py). `suppress` is the one way in: the API calls it, and so do
STOP keywords, unsubscribes and bounces; it also withdraws the address's pending steps in the
brand's running campaigns. Adding an address twice keeps the first entry. The channel workers
ask `suppressed_addresses` right before each batch of provider calls.

Each change is also an event of the address's AddressConsent (domain/address_consent.py), so the
consent audit can replay from the event log alone who could be contacted when. The two writes are
ordered so the event never claims more than the workers saw: a suppression is written to the list
first and recorded after (a send attempted after the event found the entry); a lift is recorded
first and taken off the list after (a send attempted before the event still found the entry).
Repeating either call finishes what a crash between the writes left undone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from commands.application import CampaignApplication, retry_on_conflict
from commands.audience.contact_normalisation import normalise_address
from commands.audience.withdraw_suppressed import withdraw_suppressed_address
from domain.address_consent import AddressConsent
from domain.errors import InvalidInput, NotFound
from storage.database import Database
from storage.paging import after, cursor_params, page

COLUMNS = "address, channel, reason, created_at"


@dataclass(frozen=True)
class Suppressed:
    entry: dict[str, Any]
    created: bool  # False when the address was already on the list


def suppress(
    store: CampaignApplication,
    db: Database,
    brand_id: UUID,
    address: str,
    reason: str,
    now: datetime,
    region: str = "US",
) -> Suppressed:
    """Put the address on the brand's list (InvalidAddress if it is not an email or a phone number),
    and withdraw its pending steps.

    The withdrawal runs on a re-add too: it is idempotent, and it finishes the work of an earlier
    call that stopped between the two writes. Until then the workers' own check keeps it safe.
    """
    normalised = _normalised(address, region, field="address")
    # The no-op update makes a re-add answer the first entry; xmax = 0 only on a fresh insert.
    hashed = store.address_hash(brand_id, normalised)
    row = db.fetch_one(
        f"""INSERT INTO suppressions (brand_id, address, reason, created_at, address_hash)
            VALUES (%s, %s, %s, %s, %s)
            ON CONFLICT (brand_id, address) DO UPDATE
                SET reason = suppressions.reason, address_hash = COALESCE(suppressions.address_hash, EXCLUDED.address_hash)
            RETURNING {COLUMNS}, (xmax = 0) AS created""",
        (brand_id, normalised, reason, now, hashed),
    )
    if row is None:
        raise RuntimeError("INSERT ... ON CONFLICT DO UPDATE returned no row")
    created = row.pop("created")
    _record_consent(store, brand_id, normalised, now, suppress=row["reason"])
    withdraw_suppressed_address(store, db, brand_id, normalised, f"address suppressed: {row['reason']}", now)
    return Suppressed(row, created)


class InvalidAddress(InvalidInput):
    """Neither an email address nor a dialable phone number."""


def _normalised(address: str, region: str, field: str | None = None) -> str:
    try:
        normalised, _ = normalise_address(address, region)
    except ValueError as bad:
        raise InvalidAddress(str(bad), [{"field": field, "error": str(bad)}] if field else None) from None
    return normalised


def suppressed_addresses(
    db: Database, wanted: list[tuple[UUID, str]], hashes: dict[tuple[UUID, str], str] | None = None
) -> set[tuple[UUID, str]]:
    """Which of these (brand, address) pairs are on their brand's list now, in one query: by the
    address, or by its keyed hash (`hashes`), which still matches once the entry's address was
    erased (commands/personal_data/erase_person.py)."""
    if not wanted:
        return set()
    known = hashes or {}
    rows = db.fetch_all(
        """SELECT w.brand_id, w.address FROM unnest(%s::uuid[], %s::text[], %s::text[]) AS w(brand_id, address, hash)
           WHERE EXISTS (SELECT 1 FROM suppressions s WHERE s.brand_id = w.brand_id AND s.address = w.address)
              OR (w.hash IS NOT NULL AND EXISTS (
                  SELECT 1 FROM suppressions s WHERE s.brand_id = w.brand_id AND s.address_hash = w.hash))""",
        (
            [brand for brand, _ in wanted],
            [address for _, address in wanted],
            [known.get(pair) for pair in wanted],
        ),
    )
    return {(row["brand_id"], row["address"]) for row in rows}


def unsuppress(
    store: CampaignApplication,
    db: Database,
    brand_id: UUID,
    address: str,
    reason: str,
    now: datetime,
    region: str = "US",
) -> None:
    """Take the address off the list (`reason` says why: a START text, the brand's request);
    NotFound if it was not on it."""
    normalised = _normalised(address, region)
    _record_consent(store, brand_id, normalised, now, lift=reason)
    removed = db.execute(
        "DELETE FROM suppressions WHERE brand_id = %s AND address = %s", (brand_id, normalised)
    )
    if not removed:
        raise NotFound(f"suppression of {normalised}")


def _record_consent(
    store: CampaignApplication,
    brand_id: UUID,
    address: str,
    now: datetime,
    suppress: str | None = None,
    lift: str | None = None,
) -> None:
    """The address's suppression (with its reason) or lift, as an event unless it says so already;
    nothing is recorded to lift an address that never had an event (suppressed before they were
    recorded)."""

    ids = consent_ids(store, brand_id, address)

    def decide() -> None:
        found = store.get_many(ids)
        consent = next((found[i] for i in ids if isinstance(found.get(i), AddressConsent)), None)
        if consent is None:
            if suppress is None:
                return
            consent = AddressConsent.open(brand_id, address, now, consent_id=ids[0])
        changed = consent.suppress(suppress, now) if suppress is not None else consent.lift(lift or "", now)
        if changed:
            store.save_all([consent])

    retry_on_conflict(decide)


def consent_ids(store: CampaignApplication, brand_id: UUID, address: str) -> list[UUID]:
    """The ids an address's AddressConsent may have, the one a new consent takes first: derived
    from the keyed hash where personal data are sealed (an id that says nothing of the address),
    else (and for consents opened before sealing) from the address itself."""
    hashed = store.address_hash(brand_id, address)
    legacy = AddressConsent.create_id(brand_id, address)
    return [AddressConsent.create_id(brand_id, f"hmac:{hashed}"), legacy] if hashed else [legacy]


def suppressions(
    db: Database, brand_id: UUID, limit: int, cursor: str | None, channel: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the list, oldest first; InvalidCursor for a cursor not handed out."""
    rows = db.fetch_all(
        f"""SELECT {COLUMNS} FROM suppressions
            WHERE brand_id = %(brand)s AND (%(channel)s::text IS NULL OR channel = %(channel)s)
              AND {after("address", "text")}
            ORDER BY created_at, address LIMIT %(limit)s""",
        {"brand": brand_id, "channel": channel, "limit": limit + 1, **cursor_params(cursor, uuid_key=False)},
    )
    return page(rows, limit, key="address")
