"""The deliverability guard's timed job: after each hard bounce or opt-out the read model records,
look again at the windows it changed, and pause what broke its brand's limits.

Each pass takes the outcomes after the guard's position (projections/deliverability_windows.py),
and for each window they touched: the campaign's on that channel, judged on the hard-bounce rate
(email) and the opt-out rate, and the mailbox's (an email account), judged on the hard-bounce
rate, each against the settings of the brand that owns it (domain/deliverability.py). A breach
pauses the campaign through its aggregate, or takes the mailbox out of rotation, and counts in
`campaign_service_deliverability_pauses_total`. Each window is judged apart and parked on its own
after repeated failures (storage/parked.py), with its brand, so one brand's campaign never holds
back, let alone pauses, another's; a window that failed, or that an operator handed back, is judged
again at the next passes though no new outcome touches it, and so is one that holds outcomes but
fewer sends than `min_sends` (it waits: later sends alone can take it over a limit), once a send
has reached it since it was last judged. Idempotent: looking at a window twice pauses nothing more (only an ACTIVE
campaign or an active mailbox is paused).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from prometheus_client import Counter

from commands.application import CampaignApplication
from commands.deliverability.guard import (
    guard_moved,
    guard_position,
    listed_brand,
    mailbox_standing,
    pause_campaign_for_deliverability,
    pause_mailbox,
    waiting_windows,
    window_waits,
)
from commands.deliverability.settings import deliverability_settings
from domain.campaign import CampaignStatus
from domain.deliverability import Measure, breach, measures_of, waits
from projections.deliverability_windows import (
    campaign_window,
    latest_position,
    outcomes_after,
    sender_window,
    sent_to_since,
)
from storage import parked
from storage.database import Database

GUARD = "deliverability_guard"
CAMPAIGN, SENDER = "campaign", "sender"  # the two kinds of window, first word of an item's name


def _to_judge_again(db: Database) -> tuple[list[tuple[UUID, str]], list[str]]:
    """The windows whose judgement failed (their backoff is `each_contained`'s to keep), that an
    operator handed back, or that wait for sends: no new outcome may ever touch them again, so they
    are named here."""
    rows = db.fetch_all(
        "SELECT item FROM parked_items WHERE follower = %s AND status IN ('failing', 'retry') ORDER BY id",
        (GUARD,),
    )
    campaigns, mailboxes = _windows([row["item"] for row in rows])
    waiting = waiting_windows(db)
    through = dict(waiting)
    waiting_campaigns, waiting_mailboxes = _windows([item for item, _ in waiting])
    # A waiting window is judged again only once a send reached it since it was last judged.
    sent_campaigns, sent_mailboxes = sent_to_since(
        db,
        [(c, channel, through[f"{CAMPAIGN} {c} {channel}"]) for c, channel in waiting_campaigns],
        [(m, through[f"{SENDER} {m}"]) for m in waiting_mailboxes],
    )
    campaigns += [window for window in waiting_campaigns if window in sent_campaigns]
    mailboxes += [mailbox for mailbox in waiting_mailboxes if mailbox in sent_mailboxes]
    return campaigns, mailboxes


def _windows(items: list[str]) -> tuple[list[tuple[UUID, str]], list[str]]:
    """The campaigns' and the mailboxes' windows the items name; an item not of ours is skipped."""
    campaigns, mailboxes = [], []
    for item in items:
        kind, _, rest = item.partition(" ")
        if kind == CAMPAIGN:
            campaign_id, _, channel = rest.partition(" ")
            try:
                campaigns.append((UUID(campaign_id), channel))
            except ValueError:  # not an item of ours: never let one row stop every brand's guard
                continue
        elif kind == SENDER:
            mailboxes.append(rest)
    return campaigns, mailboxes


PAUSES = Counter(
    "campaign_service_deliverability_pauses",
    "Campaigns and sender accounts the deliverability guard paused, by what and the rate broken",
    ["kind", "measure"],
)


class DeliverabilityGuard:
    def __init__(self, store: CampaignApplication, db: Database, now: Callable[[], datetime]) -> None:
        self.store, self.db, self.now = store, db, now

    def tick(self) -> int:
        """Judge the windows the outcomes since the last pass changed, and those that failed
        before or an operator handed back; how many were paused."""
        outcomes, through = outcomes_after(self.db, guard_position(self.db))
        judged = latest_position(self.db)  # the windows below hold at least the sends up to it
        again_campaigns, again_mailboxes = _to_judge_again(self.db)
        if not (outcomes or again_campaigns or again_mailboxes):
            return 0
        now = self.now()
        campaigns = list(dict.fromkeys([*((o.campaign_id, o.channel) for o in outcomes), *again_campaigns]))
        mailboxes = list(
            dict.fromkeys(
                [*(o.sender_account_id for o in outcomes if o.channel == "email"), *again_mailboxes]
            )
        )
        paused = parked.each_contained(
            self.db,
            GUARD,
            campaigns,
            lambda c: self._campaign(*c, now, judged),
            key=lambda c: f"{CAMPAIGN} {c[0]} {c[1]}",
            brand=lambda c: listed_brand(self.db, c[0]),
        )
        paused += parked.each_contained(
            self.db,
            GUARD,
            mailboxes,
            lambda m: self._mailbox(m, judged),
            key=lambda m: f"{SENDER} {m}",
            brand=self._mailbox_brand,
        )
        guard_moved(self.db, through)
        return max(paused, 1) if outcomes else paused  # moved on: again at once while outcomes come

    def _campaign(self, campaign_id: UUID, channel: str, now: datetime, judged: int) -> int:
        campaign = self.store.campaign(campaign_id)
        settings = deliverability_settings(self.db, campaign.brand_id)
        window = campaign_window(self.db, campaign_id, channel, settings.window_sends)
        measures = measures_of(channel)
        # Only an ACTIVE campaign can be paused; a resume starts its window afresh.
        waiting = waits(window, settings, measures) and campaign.status is CampaignStatus.ACTIVE
        window_waits(self.db, f"{CAMPAIGN} {campaign_id} {channel}", campaign.brand_id, waiting, judged)
        broken = breach(window, settings, channel, measures)
        if broken is None or not pause_campaign_for_deliverability(self.store, campaign_id, broken, now):
            return 0
        PAUSES.labels("campaign", broken.measure.value).inc()
        return 1

    def _mailbox_brand(self, sender_account_id: str) -> UUID | None:
        standing = mailbox_standing(self.db, sender_account_id)
        return standing.brand_id if standing else None

    def _mailbox(self, sender_account_id: str, judged: int) -> int:
        item = f"{SENDER} {sender_account_id}"
        standing = mailbox_standing(self.db, sender_account_id)
        if standing is None or standing.status != "active":
            window_waits(self.db, item, None, False)
            return 0
        settings = deliverability_settings(self.db, standing.brand_id)
        window = sender_window(self.db, sender_account_id, standing.window_after, settings.window_sends)
        waiting = waits(window, settings, (Measure.BOUNCE_RATE,))
        window_waits(self.db, item, standing.brand_id, waiting, judged)
        broken = breach(window, settings, "email", (Measure.BOUNCE_RATE,))
        if broken is None or not pause_mailbox(self.db, sender_account_id, broken):
            return 0
        PAUSES.labels("sender_account", broken.measure.value).inc()
        return 1
