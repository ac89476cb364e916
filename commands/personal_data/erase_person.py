"""Use case: erase a person of a brand, found by one of their addresses (crypto-shredding).

In an order that a crash can stop anywhere and a second call finishes: (1) every address of the
person is suppressed, which withdraws their pending steps while their contact row still names them
and keeps them suppressed for good by keyed hash; (2) the erasure is recorded as a PersonErasure
event (who, when, which contact; no personal data), once; (3) the keys of the contact and of each
address's consent are destroyed, so every event sealed with them opens as `erased`; (4) the plain
tables that hold the person's data are blanked or their rows deleted; (5) the contact row goes
last, so a call stopped before it finds the person again. An address that is nobody's contact (or
a person erased before) is still suppressed, its consent's key destroyed and the tables blanked.
docs/personal-data.md lists every place and what this does to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from commands.application import CampaignApplication, retry_on_conflict
from commands.audience.contact_normalisation import normalise_address
from commands.audience.suppressions import InvalidAddress, consent_ids, suppress
from commands.personal_data.sealing import PersonalDataSeal
from domain.erasure import PersonErasure
from domain.errors import NotFound, Unavailable
from storage.database import Database
from storage.event_json import ERASED

REASON = "erased at the person's request"
# A text that quotes one of the addresses, compared as plain text: LIKE would read an address's own
# `%` and `_` (both allowed in an email's local part) as wildcards, and blank other people's texts.
_QUOTES = "EXISTS (SELECT 1 FROM unnest(%(addresses)s::text[]) a WHERE strpos({column}, a) > 0)"


class ErasureUnavailable(Unavailable):
    """Personal data are not sealed here (no CREDENTIALS_KEY), so nothing can be erased by key."""


@dataclass(frozen=True)
class Erasure:
    contact_ids: list[UUID]  # the contacts erased (none: the address was nobody's contact any more)
    addresses: int  # how many addresses were suppressed and erased
    # False only when an earlier call had finished erasing the person (no contact holds the address,
    # its suppression keeps only the hash): a call that finishes what a crashed one began says True.
    first_time: bool


def erase_person(
    store: CampaignApplication,
    db: Database,
    brand_id: UUID,
    address: str,
    erased_by: str,
    now: datetime,
    region: str = "US",
) -> Erasure:
    """Erase the person who has `address` in the brand; InvalidAddress for a malformed address."""
    seal = store.personal_data
    if seal is None:
        raise ErasureUnavailable("personal data are not sealed: set CREDENTIALS_KEY to erase a person")
    if db.fetch_one("SELECT 1 FROM brands WHERE id = %s", (brand_id,)) is None:
        raise NotFound(f"brand {brand_id}")
    try:
        given, _ = normalise_address(address, region)
    except ValueError as bad:
        raise InvalidAddress(str(bad), [{"field": "address", "error": str(bad)}]) from None
    contacts = db.fetch_all(
        "SELECT id, email, phone FROM contacts WHERE brand_id = %s AND (email = %s OR phone = %s)",
        (brand_id, given, given),
    )
    addresses = {given} | {row[kind] for row in contacts for kind in ("email", "phone") if row[kind]}
    for each in sorted(addresses):
        suppress(store, db, brand_id, each, REASON, now, region)
    people: list[tuple[str, UUID | None]] = [(str(row["id"]), row["id"]) for row in contacts]
    hashed = seal.address_hash(brand_id, given)
    finished_before = not contacts and _erased_before(db, brand_id, hashed)
    if not people and not finished_before:  # nobody's contact: its consent alone
        people = [(f"hmac:{hashed}", None)]
    _record(store, brand_id, people, erased_by, now)
    keys: dict[UUID, str] = {row["id"]: "contact" for row in contacts}
    for each in addresses:
        keys.update({consent_id: "consent" for consent_id in consent_ids(store, brand_id, each)})
    seal.erase(brand_id, keys, now)
    contact_ids = [row["id"] for row in contacts]
    with db.transaction() as cur:
        _blank_tables(cur, seal, brand_id, contact_ids, sorted(addresses))
    return Erasure(contact_ids, len(addresses), first_time=not finished_before)


def _erased_before(db: Database, brand_id: UUID, hashed: str) -> bool:
    """Whether an erasure already blanked the address's suppression (it keeps only the hash): in the
    transaction that deletes the contact row, so with no contact left it says the erasure finished."""
    row = db.fetch_one(
        f"""SELECT 1 FROM suppressions WHERE brand_id = %s AND address_hash = %s AND address LIKE '{ERASED}-%%'""",
        (brand_id, hashed),
    )
    return row is not None


def _record(
    store: CampaignApplication,
    brand_id: UUID,
    people: list[tuple[str, UUID | None]],
    erased_by: str,
    now: datetime,
) -> None:
    """One PersonErasure per person not recorded before (a call after a crash records none twice)."""

    def decide() -> None:
        found = store.get_many([PersonErasure.create_id(brand_id, person) for person, _ in people])
        new = [
            PersonErasure.record(brand_id, person, contact_id, erased_by, now)
            for person, contact_id in people
            if PersonErasure.create_id(brand_id, person) not in found
        ]
        store.save_all(new)

    retry_on_conflict(decide)


def _blank_tables(
    cur: psycopg.Cursor[dict[str, Any]],
    seal: PersonalDataSeal,
    brand_id: UUID,
    contact_ids: list[UUID],
    addresses: list[str],
) -> None:
    """Every plain table's copy of the person blanked or deleted, in one transaction."""
    # The suppressions stay, by keyed hash, under a placeholder that says only which channel it was.
    for address in addresses:
        hashed = seal.address_hash(brand_id, address)
        placeholder = f"{ERASED}-{hashed[:32]}" + ("@erased.invalid" if "@" in address else "")
        params = {
            "placeholder": placeholder,
            "hash": hashed,
            "address": address,
            "brand": brand_id,
            "erased": ERASED,
        }
        cur.execute(  # a repeated erasure re-suppressed the address: its first entry is kept
            """DELETE FROM suppressions WHERE brand_id = %(brand)s AND address = %(address)s
               AND EXISTS (SELECT 1 FROM suppressions WHERE brand_id = %(brand)s AND address = %(placeholder)s)""",
            params,
        )
        cur.execute(
            """UPDATE suppressions SET address = %(placeholder)s, address_hash = %(hash)s,
                   reason = replace(reason, %(address)s, %(erased)s)
               WHERE brand_id = %(brand)s AND address = %(address)s""",
            params,
        )
    by_contact = {"brand": brand_id, "contacts": contact_ids, "addresses": addresses}
    for statement in (
        """UPDATE launch_audiences SET email = NULL, phone = NULL, timezone = NULL
           WHERE contact_id = ANY(%(contacts)s)""",
        """DELETE FROM sandbox_outbox
           WHERE (brand_id = %(brand)s OR brand_id IS NULL)
             AND (contact_id = ANY(%(contacts)s) OR "to" = ANY(%(addresses)s))""",
        f"DELETE FROM sandbox_refusals WHERE {_QUOTES.format(column='error')}",
        """UPDATE twilio_sends SET "to" = 'erased', body = NULL WHERE "to" = ANY(%(addresses)s)
           AND sender_account_id IN (SELECT id FROM sender_accounts WHERE brand_id = %(brand)s)""",
        """UPDATE twilio_webhook_receipts SET number = NULL
           WHERE brand_id = %(brand)s AND number = ANY(%(addresses)s)""",
        f"DELETE FROM idempotency_keys WHERE brand_id = %(brand)s AND {_QUOTES.format(column='body::text')}",
        f"""UPDATE step_executions SET error = 'erased'
           WHERE campaign_id IN (SELECT id FROM campaign_summaries WHERE brand_id = %(brand)s)
             AND {_QUOTES.format(column="error")}""",
        f"""UPDATE parked_items SET error = 'erased' WHERE (brand_id = %(brand)s OR brand_id IS NULL)
             AND {_QUOTES.format(column="error")}""",
        "DELETE FROM contact_senders WHERE brand_id = %(brand)s AND contact_id = ANY(%(contacts)s)",
        "DELETE FROM lead_group_members WHERE contact_id = ANY(%(contacts)s)",
        "DELETE FROM contacts WHERE brand_id = %(brand)s AND id = ANY(%(contacts)s)",
    ):
        cur.execute(statement, by_contact)
