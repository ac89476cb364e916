"""Brands and their API keys: creating a brand opens its credit ledger; keys are stored hashed."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from commands.application import CampaignApplication
from domain.credit_ledger import CreditLedger, Plan
from domain.errors import InvalidInput
from domain.renewal_calendar import next_renewal
from storage.database import Database


@dataclass(frozen=True)
class NewBrand:
    brand_id: UUID
    api_key: str


def _digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def create_brand(app: CampaignApplication, db: Database, name: str, plan: Plan, now: datetime) -> NewBrand:
    """Open the brand's ledger with its plan's credits, then record the brand, its key and its
    first renewal (a month on, on the day of the month it was created)."""
    if not name.strip():
        raise InvalidInput("a brand needs a name", [{"field": "name", "error": "empty"}])
    brand_id = uuid4()
    api_key = "cs_" + secrets.token_urlsafe(32)
    app.save(CreditLedger.open(brand_id, plan, now))
    db.execute(
        """INSERT INTO brands (id, name, plan, api_key_sha256, created_at, next_renewal_at)
           VALUES (%s,%s,%s,%s,%s,%s)""",
        (brand_id, name.strip(), plan.value, _digest(api_key), now, next_renewal(now, now)),
    )
    return NewBrand(brand_id, api_key)


def brand_for_key(db: Database, api_key: str) -> UUID | None:
    row = db.fetch_one("SELECT id FROM brands WHERE api_key_sha256 = %s", (_digest(api_key),))
    return row["id"] if row else None
