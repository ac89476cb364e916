"""The timed jobs: the follow-up processor, completion check, daily quota reset and settlement.

Each `tick` is one idempotent pass that returns how much it did; runtime runs them on a short
period (and at once when the dev clock moves). Running them twice, or on two machines, changes
nothing more: the use cases re-check state and the reset only touches accounts not reset today.
A batch that fails for one enrollment's or one campaign's fault is done again item by item, and
the item that keeps failing is parked (storage/parked.py): the other brands' steps go out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from commands.application import CampaignApplication
from commands.complete_campaigns import complete_campaign
from commands.daily_reset import reset_daily_quotas
from commands.dispatch_due_steps import dispatch_due_steps
from commands.launch_audience import fully_enrolled
from commands.settle_credits import settle_next_batch
from projections.campaign_summaries import finished_counts
from projections.due_steps import due_enrollments
from storage import parked
from storage.database import Database

DISPATCHER = "follow_ups"
COMPLETION = "completion"


class FollowUpProcessor:
    """Dispatches due steps of contacts still in their sequence, and completes finished campaigns."""

    def __init__(self, app: CampaignApplication, db: Database, now: Callable[[], datetime], batch: int = 500):
        self.app, self.db, self.now, self.batch = app, db, now, batch

    def tick(self) -> int:
        now = self.now()
        done = 0
        while ids := due_enrollments(self.db, now, self.batch, parked.held_back(self.db, DISPATCHER)):
            dispatched = self.dispatch(ids, now)
            done += dispatched
            if not dispatched:
                break  # the read model lags behind what was just dispatched
        return done + self.complete_finished(now)

    def dispatch(self, enrollment_ids: list[UUID], now: datetime) -> int:
        try:
            return dispatch_due_steps(self.app, enrollment_ids, now)
        except Exception as error:
            if parked.transient(error):
                raise
        return parked.each_contained(
            self.db, DISPATCHER, enrollment_ids, lambda one: dispatch_due_steps(self.app, [one], now)
        )

    def complete_finished(self, now: datetime) -> int:
        enrolled = fully_enrolled(self.db)
        finished = finished_counts(self.db, list(enrolled))
        ready = [c for c, count in enrolled.items() if finished.get(c, -1) == count]

        def complete(campaign_id: UUID) -> int:
            return int(complete_campaign(self.app, campaign_id, now))

        return parked.each_contained(self.db, COMPLETION, ready, complete)


class DailyReset:
    def __init__(self, db: Database, now: Callable[[], datetime]) -> None:
        self.db, self.now = db, now

    def tick(self) -> int:
        return reset_daily_quotas(self.db, self.now())


class Settlement:
    def __init__(self, app: CampaignApplication, db: Database, now: Callable[[], datetime]) -> None:
        self.app, self.db, self.now = app, db, now

    def tick(self) -> int:
        return settle_next_batch(self.app, self.db, self.now())
