"""Use case (the settlement process): settle sends and failures on the brands' ledgers, in batches.

Follows the event log. Each StepSent consumes its credit and each StepFailed releases its credit,
summed per campaign; when a campaign completes or is archived, what it still holds is released.
Ledger events carry the log position they settle through, so a batch applied before a crash is
recognised and skipped: each send is settled exactly once. The send path never touches a ledger.
An event that cannot be settled is retried a few times and then parked (storage/parked.py): the
other brands' ledgers keep settling, and `campaign-service parked retry` settles it after a fix.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from commands.application import CampaignApplication, retry_on_conflict
from domain.campaign import Campaign
from domain.credit_ledger import CreditLedger
from domain.enrollment import Enrollment
from storage import containment, parked
from storage.database import Database
from storage.event_log import brand_of, read_log, read_one

log = logging.getLogger(__name__)

FOLLOWER = "settlement"

SETTLED_EVENTS = (
    Enrollment.StepSent,
    Enrollment.StepFailed,
    Enrollment.StepWithdrawn,
    Campaign.CampaignCompleted,
    Campaign.CampaignArchived,
)


def settle_next_batch(app: CampaignApplication, db: Database, now: datetime, batch_size: int = 2000) -> int:
    row = db.fetch_one("SELECT position FROM settlement_position")
    start = row["position"] if row else 0
    events, through = read_log(app, start, batch_size, SETTLED_EVENTS)
    if through == start:
        return parked.retry_parked(db, FOLLOWER, lambda position: _settle_handed_back(app, position, now))

    def park(item: tuple[int, Any], error: BaseException, tries: int) -> None:
        with db.transaction() as cur:
            parked.park(cur, FOLLOWER, str(item[0]), brand_of(app, item[1]), error, tries)

    if events:
        containment.contain(
            events, lambda batch: retry_on_conflict(lambda: settle_events(app, batch, now)), park
        )
    db.execute(
        """INSERT INTO settlement_position (id, position) VALUES (true, %s)
           ON CONFLICT (id) DO UPDATE SET position = EXCLUDED.position""",
        (through,),
    )
    return max(len(events), 1)


def _settle_handed_back(app: CampaignApplication, position: int, now: datetime) -> None:
    """Settle one parked event after a fix; the ledger has settled past it, so it is not skipped."""
    retry_on_conflict(lambda: settle_events(app, [read_one(app, position)], now, handed_back=True))


def settle_events(
    app: CampaignApplication, events: Sequence[tuple[int, Any]], now: datetime, handed_back: bool = False
) -> None:
    ledgers: dict[UUID, CreditLedger] = {}
    brands: dict[UUID, UUID] = {}
    consumed: Counter[UUID] = Counter()
    released: Counter[UUID] = Counter()

    def ledger_of(campaign_id: UUID) -> CreditLedger:
        if campaign_id not in brands:
            brands[campaign_id] = app.campaign(campaign_id).brand_id
        brand_id = brands[campaign_id]
        if brand_id not in ledgers:
            ledgers[brand_id] = app.ledger(brand_id)
        return ledgers[brand_id]

    def flush(campaign_id: UUID, position: int) -> None:
        ledger = ledger_of(campaign_id)
        outstanding = ledger.reservation(campaign_id).outstanding
        sent = consumed.pop(campaign_id, 0)
        use = min(sent, outstanding)
        if use < sent:
            log.warning("campaign %s: %d sends recorded beyond its reservation", campaign_id, sent - use)
        if use:
            ledger.consume(campaign_id, use, now, settled_through=position)
        give = min(released.pop(campaign_id, 0), outstanding - use)
        if give:
            ledger.release(campaign_id, give, "steps that will not be sent", now, settled_through=position)

    last = events[-1][0]
    for position, event in events:
        if isinstance(event, Enrollment.StepSent | Enrollment.StepFailed | Enrollment.StepWithdrawn):
            if position <= ledger_of(event.campaign_id).settled_through and not handed_back:
                continue  # settled before a crash
            if isinstance(event, Enrollment.StepSent):
                consumed[event.campaign_id] += event.credits
            else:  # failed, or withdrawn (a suppressed address): its credit comes back
                released[event.campaign_id] += event.credits_released
        elif isinstance(event, Campaign.CampaignCompleted | Campaign.CampaignArchived):
            ledger = ledger_of(event.originator_id)
            if position <= ledger.settled_through and not handed_back:
                continue
            flush(event.originator_id, position)
            remaining = ledger.reservation(event.originator_id).outstanding
            if remaining:
                reason = (
                    "campaign completed"
                    if isinstance(event, Campaign.CampaignCompleted)
                    else "campaign archived"
                )
                ledger.release(event.originator_id, remaining, reason, now, settled_through=position)
    for campaign_id in list(consumed | released):
        flush(campaign_id, last)
    app.save_all(list(ledgers.values()))
