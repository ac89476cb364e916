"""Use case (part of the daily cron): renew the brands' plans, one grant per monthly period.

A brand's plan renews on its renewal day at 00:00 UTC (domain/renewal_calendar.py); its row says
when next (`brands.next_renewal_at`), so a pass reads only the brands that are due. Each due brand
gets every period it is owed, oldest first, in one write to its ledger; the ledger knows the
periods it granted, so a pass repeated, late, or run on two machines at once grants nothing twice,
and a cron that was down for two months grants each missed period once, in order. Brand by brand:
one that cannot be renewed is retried and then parked (storage/parked.py), the others renew. A
brand made before renewals existed is scheduled from its next renewal day on, owed nothing before.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from commands.application import CampaignApplication, retry_on_conflict
from domain.renewal_calendar import next_renewal, renewals_due
from storage import parked
from storage.database import Database

FOLLOWER = "plan_renewals"
BATCH = 500


def renew_plans(store: CampaignApplication, db: Database, now: datetime) -> int:
    """Grant the renewals due at `now`; return how many periods were granted."""
    for row in db.fetch_all("SELECT id, created_at FROM brands WHERE next_renewal_at IS NULL"):
        db.execute(
            "UPDATE brands SET next_renewal_at = %s WHERE id = %s AND next_renewal_at IS NULL",
            (next_renewal(row["created_at"], now), row["id"]),
        )
    due = db.fetch_all(
        """SELECT id, created_at, next_renewal_at FROM brands
           WHERE next_renewal_at <= %s AND NOT (id::text = ANY(%s)) ORDER BY next_renewal_at LIMIT %s""",
        (now, sorted(parked.held_back(db, FOLLOWER)), BATCH),
    )

    def renew(brand: dict[str, Any]) -> int:
        return renew_brand(store, db, brand, now)

    def brand_of(brand: dict[str, Any]) -> UUID:
        brand_id: UUID = brand["id"]
        return brand_id

    return parked.each_contained(db, FOLLOWER, due, renew, key=lambda b: str(b["id"]), brand=brand_of)


def renew_brand(store: CampaignApplication, db: Database, brand: dict[str, Any], now: datetime) -> int:
    """Grant one brand's due periods in order, then move its next renewal past `now`."""
    renewals = renewals_due(brand["created_at"], brand["next_renewal_at"], now)

    def decide() -> int:
        ledger = store.ledger(brand["id"])
        granted = sum(ledger.renew(moment) for moment in renewals)
        if granted:
            store.save_all([ledger])
        return granted

    granted = retry_on_conflict(decide)
    db.execute(
        "UPDATE brands SET next_renewal_at = %s WHERE id = %s AND next_renewal_at = %s",
        (next_renewal(brand["created_at"], now), brand["id"], brand["next_renewal_at"]),
    )
    return granted
