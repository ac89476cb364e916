"""Brands: creating one opens its credit ledger and its ApiKeys with a first key, in one write."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from commands.access.api_keys import key_row, new_key
from commands.application import CampaignApplication
from domain.api_keys import ApiKeys
from domain.credit_ledger import CreditLedger, Plan
from domain.errors import InvalidInput
from domain.renewal_calendar import next_renewal
from storage.database import Database

FIRST_KEY_NAME = "default"


@dataclass(frozen=True)
class NewBrand:
    brand_id: UUID
    api_key: str  # shown once, never stored (only its digest is)
    key_id: UUID


def create_brand(
    store: CampaignApplication,
    db: Database,  # unused since the brand's row is written with its events; kept for callers
    name: str,
    plan: Plan,
    now: datetime,
    created_by: str = "brand creation",
) -> NewBrand:
    """Open the brand's ledger with its plan's credits and its ApiKeys with a first key; the brand's
    row (with its first renewal: a month on, on the day of the month it was created) and the key's
    digest are written in the same transaction as those events."""
    if not name.strip():
        raise InvalidInput("a brand needs a name", [{"field": "name", "error": "empty"}])
    brand_id = uuid4()
    key = new_key(FIRST_KEY_NAME, now)
    keys = ApiKeys.open(brand_id, now)
    keys.issue(key.id, key.name, key.prefix, created_by, now)
    brand_row = (
        "INSERT INTO brands (id, name, plan, created_at, next_renewal_at) VALUES (%s,%s,%s,%s,%s)",
        (brand_id, name.strip(), plan.value, now, next_renewal(now, now)),
    )
    store.save(CreditLedger.open(brand_id, plan, now), keys, alongside=[brand_row, key_row(brand_id, key)])
    return NewBrand(brand_id, key.api_key, key.id)
