"""A brand's deliverability settings: the hard-bounce and opt-out rates its campaigns and mailboxes
may reach, over how many of their last sends, from how many on.

A brand without settings of its own has the defaults (domain/deliverability.py: 5% bounces, 2%
opt-outs, judged from 50 sends over the last 500). Limits out of range are refused before
anything is stored (`InvalidDeliverabilitySettings`, a 422 at the API).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain.deliverability import DeliverabilitySettings
from storage.database import Database

COLUMNS = "max_bounce_rate, max_opt_out_rate, min_sends, window_sends"


def deliverability_settings(db: Database, brand_id: UUID) -> DeliverabilitySettings:
    row = db.fetch_one(f"SELECT {COLUMNS} FROM deliverability_settings WHERE brand_id = %s", (brand_id,))
    return DeliverabilitySettings(**row) if row else DeliverabilitySettings()


def change_deliverability_settings(
    db: Database, brand_id: UUID, settings: DeliverabilitySettings, now: datetime
) -> DeliverabilitySettings:
    """Store the brand's settings (a `DeliverabilitySettings` is checked when it is made)."""
    db.execute(
        f"""INSERT INTO deliverability_settings (brand_id, {COLUMNS}, updated_at)
            VALUES (%s, %s, %s, %s, %s, %s)
            ON CONFLICT (brand_id) DO UPDATE SET max_bounce_rate = EXCLUDED.max_bounce_rate,
                max_opt_out_rate = EXCLUDED.max_opt_out_rate, min_sends = EXCLUDED.min_sends,
                window_sends = EXCLUDED.window_sends, updated_at = EXCLUDED.updated_at""",
        (
            brand_id,
            settings.max_bounce_rate,
            settings.max_opt_out_rate,
            settings.min_sends,
            settings.window_sends,
            now,
        ),
    )
    return deliverability_settings(db, brand_id)
