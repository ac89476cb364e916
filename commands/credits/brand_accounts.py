"""What operators see of a brand: its plan, balance, standing, next renewal and API keys.

The brands' rows give the name, the standing and the keys; each brand's ledger gives the plan and
the balance (all ledgers of a page loaded in one query). `renews_at` is the next renewal after now.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from commands.application import CampaignApplication
from domain.credit_ledger import CreditLedger
from domain.errors import NotFound
from domain.renewal_calendar import next_renewal
from storage.database import Database
from storage.paging import after, cursor_params, page

# The brand's live API keys are counted in the key table (commands/access/api_keys.py owns it).
COLUMNS = """id, name, created_at, suspended_at, suspension_reason,
             (SELECT count(*) FROM api_keys k WHERE k.brand_id = brands.id AND k.revoked_at IS NULL)::int
               AS key_count"""


def _account(row: dict[str, Any], ledger: CreditLedger | None, now: datetime) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "plan": ledger.plan.value if ledger else None,
        "balance": ledger.balance if ledger else 0,
        "reserved_outstanding": ledger.reserved_outstanding if ledger else 0,
        "status": "suspended" if row["suspended_at"] else "active",
        "suspended_at": row["suspended_at"],
        "suspension_reason": row["suspension_reason"],
        "created_at": row["created_at"],
        "renews_at": next_renewal(row["created_at"], now),
        "key_count": row["key_count"],
    }


def _with_ledgers(
    store: CampaignApplication, rows: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    ledgers = store.get_many([CreditLedger.create_id(row["id"]) for row in rows])
    return [_account(row, ledgers.get(CreditLedger.create_id(row["id"])), now) for row in rows]


def brand_accounts(
    store: CampaignApplication, db: Database, now: datetime, limit: int = 500, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the brands, oldest first; InvalidCursor for a cursor not handed out."""
    rows = db.fetch_all(
        f"SELECT {COLUMNS} FROM brands WHERE {after()} ORDER BY created_at, id LIMIT %(limit)s",
        {**cursor_params(cursor), "limit": limit + 1},
    )
    rows, next_cursor = page(rows, limit)
    return _with_ledgers(store, rows, now), next_cursor


def brand_account(store: CampaignApplication, db: Database, brand_id: UUID, now: datetime) -> dict[str, Any]:
    """One brand's account; NotFound for an unknown brand."""
    row = db.fetch_one(f"SELECT {COLUMNS} FROM brands WHERE id = %s", (brand_id,))
    if row is None:
        raise NotFound(f"brand {brand_id}")
    return _with_ledgers(store, [row], now)[0]
