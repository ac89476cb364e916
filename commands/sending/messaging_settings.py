"""A brand's settings for texts and calls: the hours they may reach a contact, and the HELP answer.

A brand without settings of its own gets the defaults: texts and voicemails between 08:00 and 21:00
in the contact's time zone (domain/quiet_hours.py), and a HELP answer that names the brand and how
to stop. The send path reads the hours of a batch's brands in one query. A change of the hours is
also an event on the brand's ledger (QuietHoursChanged), written after the row, so the consent audit
knows from the event log which hours held when; storing the same hours again records it if the
first call stopped between the two writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from commands.application import CampaignApplication, retry_on_conflict
from domain.quiet_hours import QuietHours
from storage.database import Database

DEFAULT_HELP = "{brand}: you get these texts because you are on our list. Reply STOP to opt out."


@dataclass(frozen=True)
class MessagingSettings:
    quiet_hours: QuietHours
    help_text: str


def messaging_settings(db: Database, brand_id: UUID) -> MessagingSettings:
    row = db.fetch_one(
        """SELECT b.name, s.allowed_from, s.allowed_until, s.help_text
           FROM brands b LEFT JOIN brand_messaging_settings s ON s.brand_id = b.id WHERE b.id = %s""",
        (brand_id,),
    )
    if row is None or row["allowed_from"] is None:
        name = row["name"] if row else "We"
        return MessagingSettings(QuietHours(), DEFAULT_HELP.format(brand=name))
    help_text = row["help_text"] or DEFAULT_HELP.format(brand=row["name"])
    return MessagingSettings(QuietHours(row["allowed_from"], row["allowed_until"]), help_text)


def quiet_hours_of(db: Database, brand_ids: list[UUID]) -> dict[UUID, QuietHours]:
    """The hours of each brand given (the defaults for a brand with no settings), in one query."""
    rows = db.fetch_all(
        """SELECT brand_id, allowed_from, allowed_until FROM brand_messaging_settings
           WHERE brand_id = ANY(%s)""",
        (brand_ids,),
    )
    chosen = {row["brand_id"]: QuietHours(row["allowed_from"], row["allowed_until"]) for row in rows}
    return {brand: chosen.get(brand, QuietHours()) for brand in brand_ids}


def change_messaging_settings(
    store: CampaignApplication,
    db: Database,
    brand_id: UUID,
    allowed_from: str,
    allowed_until: str,
    help_text: str | None,
    now: datetime,
) -> MessagingSettings:
    """Set the brand's hours (InvalidQuietHours unless they start before they end) and HELP text."""
    QuietHours(allowed_from, allowed_until)  # refuses hours that cannot be kept, before storing
    db.execute(
        """INSERT INTO brand_messaging_settings
               (brand_id, allowed_from, allowed_until, help_text, updated_at)
           VALUES (%s, %s, %s, %s, %s)
           ON CONFLICT (brand_id) DO UPDATE SET allowed_from = EXCLUDED.allowed_from,
               allowed_until = EXCLUDED.allowed_until, help_text = EXCLUDED.help_text,
               updated_at = EXCLUDED.updated_at""",
        (brand_id, allowed_from, allowed_until, help_text, now),
    )
    _record_hours(store, brand_id, allowed_from, allowed_until, now)
    return messaging_settings(db, brand_id)


def _record_hours(
    store: CampaignApplication, brand_id: UUID, allowed_from: str, allowed_until: str, now: datetime
) -> None:
    def decide() -> None:
        ledger = store.ledger(brand_id)
        if ledger.change_quiet_hours(allowed_from, allowed_until, now):
            store.save_all([ledger])

    retry_on_conflict(decide)
