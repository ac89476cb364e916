"""Use cases of the deliverability guard: pause a campaign or a mailbox whose window broke its
brand's limits, resume a mailbox, and keep the guard's place in the outcomes.

The Campaign aggregate decides a campaign's pause (`pause_for_deliverability`: only an ACTIVE one,
recorded as `CampaignPaused` by the deliverability guard with the window's figures). A mailbox is a
plain row: it gets status `paused_deliverability`, which the rotation skips (only `active` accounts
send, commands/sending/claim_senders.py), until its owner resumes it; the resume starts its window
afresh after the read model's position then. A window holding bounces or opt-outs but fewer sends
than `min_sends` waits (`window_waits`): the guard judges it again at each pass until later sends
take it there. The guard's timed job (consumers/deliverability_guard.py)
reads the windows and calls these; everything here acts on one campaign or one account of one brand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from commands.application import CampaignApplication, retry_on_conflict
from commands.sending.sender_accounts import sender_account
from domain.deliverability import Breach
from domain.errors import IllegalTransition, NotFound
from storage.database import Database

PAUSED_DELIVERABILITY = "paused_deliverability"


@dataclass(frozen=True)
class MailboxStanding:
    brand_id: UUID
    status: str
    window_after: int  # its window holds the sends after this position (its last resume)


def pause_campaign_for_deliverability(
    store: CampaignApplication, campaign_id: UUID, breach: Breach, now: datetime
) -> bool:
    """Pause the campaign for the breach; False (nothing recorded) unless it was ACTIVE."""

    def decide() -> bool:
        campaign = store.campaign(campaign_id)
        if not campaign.pause_for_deliverability(now, breach):
            return False
        store.save_all([campaign])
        return True

    return retry_on_conflict(decide)


def listed_brand(db: Database, campaign_id: UUID) -> UUID | None:
    """The campaign's brand as its listing knows it (None if not listed): read when the campaign's
    own stream is what failed, so that what is set aside still names whose it is."""
    row = db.fetch_one("SELECT brand_id FROM campaign_summaries WHERE id = %s", (campaign_id,))
    return row["brand_id"] if row else None


def mailbox_standing(db: Database, sender_account_id: str) -> MailboxStanding | None:
    """The account's brand, status and window start; None for an account that is gone."""
    try:
        account_id = UUID(sender_account_id)
    except ValueError:
        return None
    row = db.fetch_one(
        "SELECT brand_id, status, deliverability_after FROM sender_accounts WHERE id = %s", (account_id,)
    )
    return MailboxStanding(row["brand_id"], row["status"], row["deliverability_after"]) if row else None


def pause_mailbox(db: Database, sender_account_id: str, breach: Breach) -> bool:
    """Take an active account out of rotation for the breach; False if it was not active."""
    return bool(
        db.execute(
            """UPDATE sender_accounts SET status = %s, paused_reason = %s
               WHERE id = %s AND status = 'active'""",
            (PAUSED_DELIVERABILITY, breach.reason, UUID(sender_account_id)),
        )
    )


def resume_mailbox(db: Database, brand_id: UUID, account_id: UUID, window_after: int) -> dict[str, Any]:
    """Put a paused account back in rotation, its window starting after `window_after`;
    NotFound for another brand's account, IllegalTransition (409) unless it was paused."""
    account = db.fetch_one(
        "SELECT status FROM sender_accounts WHERE id = %s AND brand_id = %s", (account_id, brand_id)
    )
    if account is None:
        raise NotFound(f"sender account {account_id}")
    changed = db.execute(
        """UPDATE sender_accounts SET status = 'active', paused_reason = NULL, deliverability_after = %s
           WHERE id = %s AND brand_id = %s AND status = %s""",
        (window_after, account_id, brand_id, PAUSED_DELIVERABILITY),
    )
    if not changed:
        raise IllegalTransition(f"cannot resume a sender account that is {account['status']}")
    return sender_account(db, brand_id, account_id)


def guard_position(db: Database) -> int:
    """How far in the outcomes the guard has looked (0 at first)."""
    row = db.fetch_one("SELECT position FROM deliverability_guard_position WHERE id = 1")
    return int(row["position"]) if row else 0


def guard_moved(db: Database, position: int) -> None:
    """The guard has looked at the outcomes up to `position` (it never moves back)."""
    db.execute(
        """INSERT INTO deliverability_guard_position (id, position) VALUES (1, %s)
           ON CONFLICT (id) DO UPDATE SET position = GREATEST(deliverability_guard_position.position,
               EXCLUDED.position)""",
        (position,),
    )


def waiting_windows(db: Database) -> list[tuple[str, int]]:
    """The windows (as the guard names them) that hold outcomes but too few sends to be judged,
    each with the read model's position when it was last judged."""
    rows = db.fetch_all("SELECT item, judged_through FROM deliverability_waiting_windows ORDER BY item")
    return [(row["item"], row["judged_through"]) for row in rows]


def window_waits(db: Database, item: str, brand_id: UUID | None, waits: bool, through: int = 0) -> None:
    """Record whether the window named `item`, judged on the read model up to `through`, waits for
    sends (see `domain.deliverability.waits`)."""
    if waits:
        db.execute(
            """INSERT INTO deliverability_waiting_windows (item, brand_id, judged_through) VALUES (%s, %s, %s)
               ON CONFLICT (item) DO UPDATE SET judged_through = EXCLUDED.judged_through""",
            (item, brand_id, through),
        )
    else:
        db.execute("DELETE FROM deliverability_waiting_windows WHERE item = %s", (item,))
