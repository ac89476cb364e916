"""Sender accounts (mailboxes and phone numbers): registration with limits, warm-up and credentials.

Registration refuses what a provider could never use (a channel it does not serve, an address of
the wrong kind, a warm-up that cannot start, credentials missing a key) and seals the credentials
(commands/sending/credentials.py); the `credentials` column is never selected for an answer. What a
send reads of an account is a `SenderAccount`. Quota is taken by commands/sending/claim_senders.py;
the daily reset and warm-up by commands/sending/daily_reset.py.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from psycopg.errors import UniqueViolation

from commands.audience.contact_normalisation import normalise_email, normalise_phone
from commands.sending.credentials import CredentialCipher, credential_problems, require_cipher
from domain.errors import AlreadyExists, InvalidInput
from domain.limits import MAX_DAILY_LIMIT
from domain.sender_choice import warmup_limit
from storage.database import Database
from storage.paging import after, cursor_params, page

# Steps use the channel "voicemail"; the sender account for it is a "voice" number.
ACCOUNT_CHANNEL = {"email": "email", "sms": "sms", "voicemail": "voice"}
PROVIDERS = {"email": ("gmail", "sandbox"), "sms": ("twilio", "sandbox"), "voice": ("twilio", "sandbox")}
COLUMNS = """id, channel, provider, address, daily_limit, limit_today, sends_today, status,
             warmup_enabled, warmup_start_limit, warmup_daily_increment, created_at"""


class InvalidSenderAccount(InvalidInput):
    """The account could never send as given; `errors` names each field and what is wrong."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['error']}" for e in errors), errors)


class DuplicateSenderAccount(AlreadyExists):
    """The brand already has an account with this channel and address."""


def sender_address(channel: str, address: str) -> str:
    """The address in its stored form: a lower-case email, or a valid E.164 phone number."""
    if channel != "email" and not address.strip().startswith("+"):
        raise ValueError(f"{address!r} is not in E.164 form: a + then the country code, e.g. +14155550100")
    normalised = normalise_email(address) if channel == "email" else normalise_phone(address)
    if not normalised:
        raise ValueError(f"a {channel} sender account needs an address")
    return normalised


def _problems(
    channel: str,
    provider: str,
    address: str,
    daily_limit: int,
    warmup: dict[str, Any],
    credentials: dict[str, Any] | None,
) -> tuple[str, list[dict[str, str]]]:
    errors: list[dict[str, str]] = []
    if provider not in PROVIDERS.get(channel, ()):
        serves = " or ".join(PROVIDERS.get(channel, ()))
        errors.append({"field": "provider", "error": f"channel {channel} is served by {serves}"})
    try:
        address = sender_address(channel, address)
    except ValueError as bad:
        errors.append({"field": "address", "error": str(bad)})
    if not 1 <= daily_limit <= MAX_DAILY_LIMIT:  # the daily reset's arithmetic stays small
        errors.append({"field": "daily_limit", "error": f"a daily limit is 1 to {MAX_DAILY_LIMIT:,}"})
    if not 0 <= int(warmup.get("daily_increment", 5)) <= MAX_DAILY_LIMIT:
        error = f"a warm-up grows by at most {MAX_DAILY_LIMIT:,} a day"
        errors.append({"field": "warmup.daily_increment", "error": error})
    if warmup.get("enabled"):
        if not 1 <= int(warmup.get("start_limit", 10)) <= daily_limit:
            error = f"a warm-up starts between 1 and the daily limit ({daily_limit})"
            errors.append({"field": "warmup.start_limit", "error": error})
        if int(warmup.get("daily_increment", 5)) < 1:
            errors.append({"field": "warmup.daily_increment", "error": "a warm-up grows by 1 or more a day"})
    errors += [{"field": "credentials", "error": p} for p in credential_problems(provider, credentials)]
    return address, errors


def register_sender_account(
    db: Database,
    brand_id: UUID,
    channel: str,
    provider: str,
    address: str,
    daily_limit: int,
    warmup: dict[str, Any],
    now: datetime,
    *,
    credentials: dict[str, Any] | None = None,
    cipher: CredentialCipher | None = None,
) -> dict[str, Any]:
    """Register the account with its credentials sealed (the sandbox takes none: any given are dropped)."""
    address, errors = _problems(channel, provider, address, daily_limit, warmup, credentials)
    if errors:
        raise InvalidSenderAccount(errors)
    sealed = require_cipher(cipher).seal(credentials or {}) if provider != "sandbox" else None
    account_id = uuid4()
    enabled = bool(warmup.get("enabled", False))
    start, increment = int(warmup.get("start_limit", 10)), int(warmup.get("daily_increment", 5))
    try:
        db.execute(
            """INSERT INTO sender_accounts (id, brand_id, channel, provider, address, daily_limit,
                warmup_enabled, warmup_start_limit, warmup_daily_increment, limit_today, credentials,
                created_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)""",
            (
                account_id,
                brand_id,
                channel,
                provider,
                address,
                daily_limit,
                enabled,
                start,
                increment,
                warmup_limit(daily_limit, enabled, start, increment, 0),
                sealed,
                now,
            ),
        )
    except UniqueViolation as taken:
        raise DuplicateSenderAccount(f"a {channel} sender account for {address} already exists") from taken
    return sender_account(db, brand_id, account_id)


def sender_account(db: Database, brand_id: UUID, account_id: UUID) -> dict[str, Any]:
    row = db.fetch_one(
        f"SELECT {COLUMNS} FROM sender_accounts WHERE id = %s AND brand_id = %s",
        (account_id, brand_id),
    )
    if row is None:  # registered a moment ago: only a bug or a concurrent delete gets here
        raise LookupError(f"sender account {account_id} vanished")
    return row


def sender_accounts(
    db: Database, brand_id: UUID, limit: int = 500, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the brand's accounts, oldest first; InvalidCursor for a cursor not handed out."""
    rows = db.fetch_all(
        f"""SELECT {COLUMNS} FROM sender_accounts WHERE brand_id = %(brand)s AND {after()}
            ORDER BY created_at, id LIMIT %(limit)s""",
        {"brand": brand_id, "limit": limit + 1, **cursor_params(cursor)},
    )
    return page(rows, limit)


def channels_with_active_accounts(
    db: Database, brand_id: UUID, providers: Collection[str] | None = None
) -> set[str]:
    """Step channels the brand can send on: an active account whose provider this build can use
    (`providers`; None means any)."""
    rows = db.fetch_all(
        """SELECT DISTINCT channel FROM sender_accounts WHERE brand_id = %(brand)s
           AND status = 'active' AND (%(providers)s::text[] IS NULL OR provider = ANY(%(providers)s))""",
        {"brand": brand_id, "providers": None if providers is None else list(providers)},
    )
    have = {row["channel"] for row in rows}
    return {step_channel for step_channel, acc in ACCOUNT_CHANNEL.items() if acc in have}


@dataclass(frozen=True)
class SenderAccount:
    """What a send needs of the account it goes from: which adapter sends it, and from where."""

    id: UUID
    provider: str
    address: str


def account_to_send_from(db: Database, account_id: UUID) -> SenderAccount:
    """The account an earlier attempt named (accounts are never deleted: LookupError is a bug)."""
    row = db.fetch_one("SELECT id, provider, address FROM sender_accounts WHERE id = %s", (account_id,))
    if row is None:
        raise LookupError(f"sender account {account_id} vanished")
    return SenderAccount(row["id"], row["provider"], row["address"])


@dataclass(frozen=True)
class ConnectedMailbox:
    id: UUID
    brand_id: UUID
    address: str


def connected_mailboxes(db: Database, provider: str) -> list[ConnectedMailbox]:
    """Every brand's active email accounts of one provider, whose inboxes are read for replies."""
    rows = db.fetch_all(
        """SELECT id, brand_id, address FROM sender_accounts
           WHERE channel = 'email' AND provider = %s AND status = 'active' ORDER BY created_at, id""",
        (provider,),
    )
    return [ConnectedMailbox(row["id"], row["brand_id"], row["address"]) for row in rows]
