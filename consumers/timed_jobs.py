"""The timed jobs: follow-ups, completion check, the sweeper, the daily cron (quota reset and plan
renewals) and settlement.

Each `tick` is one idempotent pass that returns how much it did; runtime runs them on a short
period (and at once when the dev clock moves). Running them twice, or on two machines, changes
nothing more: the use cases re-check state and the reset only touches accounts not reset today.
A batch that fails for one enrollment's or one campaign's fault is done again item by item, and
the item that keeps failing is parked (storage/parked.py): the other brands' steps go out. The
daily cron also forgets the receipts of old Twilio delivery reports and calls, and the message
bodies and provider payloads past their brand's retention, a bounded batch a pass
(commands/inbound/webhook_receipts.py, commands/personal_data/retention.py). The resealer is the
data migration of decision record 28: where personal data are sealed, it seals in place the events
stored before sealing, at start and hourly after (with none left, a pass is one scan of the events).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

from commands.application import CampaignApplication
from commands.campaigns.complete_campaign import complete_campaign
from commands.campaigns.launch_audience import fully_enrolled
from commands.credits.brand_standing import suspended_brands
from commands.credits.open_attempts import held_attempts
from commands.credits.plan_renewals import renew_plans
from commands.credits.settle_credits import settle_next_batch
from commands.inbound.webhook_receipts import forget_old_callbacks
from commands.personal_data.resealing import brands_to_reseal, reseal_brand
from commands.personal_data.retention import forget_old_messages
from commands.sending.daily_reset import reset_daily_quotas
from commands.sending.dispatch_due_steps import dispatch_due_steps
from commands.sending.redispatch_steps import reconcile_held_steps, redispatch_stale_steps
from projections.campaign_summaries import finished_counts
from projections.due_steps import due_enrollments, stale_in_flight
from storage import containment, parked
from storage.database import Database

log = logging.getLogger(__name__)

DISPATCHER = "follow_ups"
COMPLETION = "completion"
SWEEPER = "sweeper"


class FollowUpProcessor:
    """Dispatches due steps of contacts still in their sequence, and completes finished campaigns."""

    def __init__(
        self, store: CampaignApplication, db: Database, now: Callable[[], datetime], batch: int = 500
    ):
        self.store, self.db, self.now, self.batch = store, db, now, batch

    def tick(self) -> int:
        now = self.now()
        done = 0
        waiting = suspended_brands(self.db)  # their steps wait for their reinstatement
        while ids := due_enrollments(
            self.db, now, self.batch, parked.held_back(self.db, DISPATCHER), skip_brands=waiting
        ):
            dispatched = self.dispatch(ids, now, waiting)
            done += dispatched
            if not dispatched:
                break  # the read model lags behind what was just dispatched
        return done + self.complete_finished(now)

    def dispatch(self, enrollment_ids: list[UUID], now: datetime, suspended: set[UUID] | None = None) -> int:
        waiting = suspended or set()
        try:
            return dispatch_due_steps(self.store, enrollment_ids, now, waiting)
        except Exception as error:
            if containment.transient(error):
                raise
        return parked.each_contained(
            self.db,
            DISPATCHER,
            enrollment_ids,
            lambda one: dispatch_due_steps(self.store, [one], now, waiting),
        )

    def complete_finished(self, now: datetime) -> int:
        enrolled = fully_enrolled(self.db)
        finished = finished_counts(self.db, list(enrolled))
        ready = [c for c, count in enrolled.items() if finished.get(c, -1) == count]

        def complete(campaign_id: UUID) -> int:
            return int(complete_campaign(self.store, campaign_id, now))

        return parked.each_contained(self.db, COMPLETION, ready, complete)


class Sweeper:
    """Dispatches again the steps left in flight past the lease (their message was lost).

    Campaign by campaign, so a campaign that cannot be swept costs only itself (it is parked
    after repeated failures); a dispatch a worker parked is left alone until an operator retries it.
    """

    def __init__(
        self,
        store: CampaignApplication,
        db: Database,
        now: Callable[[], datetime],
        lease_seconds: float,
        batch: int = 500,
    ) -> None:
        self.store, self.db, self.now, self.batch = store, db, now, batch
        self.lease = timedelta(seconds=lease_seconds)

    def tick(self) -> int:
        now = self.now()
        left_alone = parked.parked_dispatches(self.db)
        stale = {
            campaign_id: [e for e in enrollment_ids if str(e) not in left_alone]
            for campaign_id, enrollment_ids in stale_in_flight(self.db, now - self.lease, self.batch).items()
        }

        def sweep(campaign_id: UUID) -> int:
            return redispatch_stale_steps(self.store, campaign_id, stale[campaign_id], now, self.lease)

        swept = parked.each_contained(self.db, SWEEPER, [c for c, ids in stale.items() if ids], sweep)
        held = held_attempts(self.db, now - self.lease, self.batch)

        def reconcile(campaign_id: UUID) -> int:
            return reconcile_held_steps(self.store, campaign_id, held[campaign_id], now, self.lease)

        return swept + parked.each_contained(self.db, SWEEPER, list(held), reconcile)


class DailyCron:
    """The cron role's pass: the daily quota reset, then the plans' monthly renewals (each brand's
    due periods granted once). Each is idempotent and isolates failures per account or brand."""

    def __init__(self, store: CampaignApplication, db: Database, now: Callable[[], datetime]) -> None:
        self.store, self.db, self.now = store, db, now

    def tick(self) -> int:
        now = self.now()
        return (
            reset_daily_quotas(self.db, now)
            + forget_old_callbacks(self.db, now)
            + forget_old_messages(self.db, now)
            + renew_plans(self.store, self.db, now)
        )


class Settlement:
    def __init__(self, store: CampaignApplication, db: Database, now: Callable[[], datetime]) -> None:
        self.store, self.db, self.now = store, db, now

    def tick(self) -> int:
        return settle_next_batch(self.store, self.db, self.now())


class Resealer:
    """Seals in place, brand by brand, the personal data of events stored before sealing (or by a
    deployment without CREDENTIALS_KEY), recording each batch as `EventsResealed` by the scheduler;
    nothing to do where personal data are not sealed. An aggregate whose chain is already broken
    is left as it is and logged, as `events reseal` reports it; a brand whose re-seal fails is
    logged and tried again next pass, after the other brands'."""

    BY = "the scheduler"

    def __init__(self, store: CampaignApplication, url: str, now: Callable[[], datetime]) -> None:
        self.store, self.url, self.now = store, url, now

    def tick(self) -> int:
        if self.store.personal_data is None:
            return 0
        resealed = 0
        for brand_id in brands_to_reseal(self.store, self.url):
            try:
                done = reseal_brand(self.store, self.url, brand_id, self.BY, self.now)
            except Exception:  # one brand's unreadable event never keeps the others plain
                log.exception("brand %s: its events could not be resealed; trying again next pass", brand_id)
                continue
            resealed += done.events
            if done.events:
                log.info("resealed %d stored events of brand %s", done.events, brand_id)
            for broken in done.refused:
                log.error("not resealed, its chain is broken: %s", broken)
        return 0  # one pass re-seals everything it can: the next waits its hour
