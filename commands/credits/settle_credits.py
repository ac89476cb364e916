"""Use case (the settlement process): settle sends and failures on the brands' ledgers, in batches.

Follows the event log. Each StepSent consumes its credit and each StepFailed releases its credit,
summed per campaign; when a campaign completes or is archived, what it still holds is released,
except the units of steps then at a provider (commands/credits/open_attempts.py): each of those
is consumed or released by its step's outcome, so a send that was on its way is paid for.
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
from commands.credits.open_attempts import AttemptStore, AttemptTable, OpenAttempt, OpenAttempts
from domain import enrollment_events
from domain.campaign import Campaign
from domain.credit_cost import DEFAULT_UNIT_COSTS
from domain.credit_ledger import CreditLedger
from domain.enrollment import Enrollment
from domain.message_key import message_key
from storage import containment, parked
from storage.database import Database
from storage.event_log import brand_of, read_log, read_one

log = logging.getLogger(__name__)

FOLLOWER = "settlement"

SETTLED_EVENTS = (
    Enrollment.StepAttempted,
    Enrollment.StepSent,
    Enrollment.StepFailed,
    Enrollment.StepWithdrawn,
    Enrollment.StepCancelled,
    Campaign.CampaignCompleted,
    Campaign.CampaignArchived,
)
OUTCOMES = (Enrollment.StepSent, Enrollment.StepFailed, Enrollment.StepWithdrawn, Enrollment.StepCancelled)


def settle_next_batch(store: CampaignApplication, db: Database, now: datetime, batch_size: int = 2000) -> int:
    row = db.fetch_one("SELECT position FROM settlement_position")
    start = row["position"] if row else 0
    events, through = read_log(store, start, batch_size, SETTLED_EVENTS)
    if through == start:
        return parked.retry_parked(
            db, FOLLOWER, lambda position: _settle_handed_back(store, db, position, now)
        )

    def park(item: tuple[int, Any], error: BaseException, tries: int) -> None:
        with db.transaction() as cur:
            parked.park(cur, FOLLOWER, str(item[0]), brand_of(store, item[1]), error, tries)

    if events:
        containment.contain(
            events,
            lambda batch: retry_on_conflict(lambda: settle_events(store, batch, now, AttemptTable(db))),
            park,
        )
    db.execute(
        """INSERT INTO settlement_position (id, position) VALUES (true, %s)
           ON CONFLICT (id) DO UPDATE SET position = EXCLUDED.position""",
        (through,),
    )
    return max(len(events), 1)


def _settle_handed_back(store: CampaignApplication, db: Database, position: int, now: datetime) -> None:
    """Settle one parked event after a fix; the ledger has settled past it, so it is not skipped."""
    retry_on_conflict(
        lambda: settle_events(store, [read_one(store, position)], now, AttemptTable(db), handed_back=True)
    )


def settle_events(
    store: CampaignApplication,
    events: Sequence[tuple[int, Any]],
    now: datetime,
    attempts: AttemptStore,
    handed_back: bool = False,
) -> None:
    """Settle the events in log order. While a campaign runs, a send consumes its credit and a
    failure or withdrawal releases its own; when it completes or is archived, the rest is released
    but for the units of steps then at a provider, which their outcome settles one by one."""
    ledgers: dict[UUID, CreditLedger] = {}
    campaigns: dict[UUID, Campaign] = {}
    consumed: Counter[UUID] = Counter()
    released: Counter[UUID] = Counter()
    at_provider = OpenAttempts(attempts)

    def campaign(campaign_id: UUID) -> Campaign:
        if campaign_id not in campaigns:
            campaigns[campaign_id] = store.campaign(campaign_id)
        return campaigns[campaign_id]

    def ledger_of(campaign_id: UUID) -> CreditLedger:
        brand_id = campaign(campaign_id).brand_id
        if brand_id not in ledgers:
            ledgers[brand_id] = store.ledger(brand_id)
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
        if isinstance(event, Enrollment.StepAttempted):
            at_provider.open(attempt_at_provider(store, position, event))
        elif isinstance(event, OUTCOMES):
            ledger = ledger_of(event.campaign_id)
            closed_through = ledger.reservation(event.campaign_id).closed_through
            key = message_key(event.originator_id, event.step_id)
            opened = at_provider.close(key, where=closed_through is not None)
            if position <= ledger.settled_through and not handed_back:
                continue  # settled before a crash
            if closed_through is None:  # the campaign runs: each outcome settles its own credit
                if isinstance(event, Enrollment.StepSent):
                    consumed[event.campaign_id] += event.credits
                elif not isinstance(event, Enrollment.StepCancelled):  # a pause keeps the credit
                    released[event.campaign_id] += event.credits_released
            elif opened is not None and opened.position < closed_through:  # a unit the close kept
                if isinstance(event, Enrollment.StepSent):
                    consumed[event.campaign_id] += event.credits
                else:
                    released[event.campaign_id] += _unit(campaign(event.campaign_id), event.step_id)
            elif isinstance(event, Enrollment.StepSent):
                log.warning("campaign %s: step %s sent after its reservation closed", event.campaign_id, key)
        elif isinstance(event, Campaign.CampaignCompleted | Campaign.CampaignArchived):
            ledger = ledger_of(event.originator_id)
            if position <= ledger.settled_through and not handed_back:
                continue
            flush(event.originator_id, position)
            if ledger.reservation(event.originator_id).closed_through is not None:
                continue  # archived after it completed: closed already
            held = sum(
                _unit(campaign(a.campaign_id), a.step_id)
                for a in at_provider.of_campaign(event.originator_id, before=position)
            )
            reason = (
                "campaign completed" if isinstance(event, Campaign.CampaignCompleted) else "campaign archived"
            )
            ledger.close(event.originator_id, reason, held, now, settled_through=position)
    for campaign_id in list(consumed | released):
        flush(campaign_id, last)
    store.save_all(list(ledgers.values()))
    at_provider.save()  # after the ledgers: a batch applied again finds the table as it was before it


def _unit(campaign: Campaign, step_id: str) -> int:
    return DEFAULT_UNIT_COSTS[campaign.step(step_id).type]


def attempt_at_provider(
    store: CampaignApplication, position: int, event: enrollment_events.StepAttempted
) -> OpenAttempt:
    campaign_id = event.campaign_id or store.enrollment(event.originator_id).campaign_id  # v1: not on it
    return OpenAttempt(
        event.message_key, campaign_id, event.originator_id, event.step_id, position, event.attempted_at
    )
