"""Part of the send use case: the prepared messages handed to their providers, while their
campaigns still run.

A provider that takes a batch in one call gets all of its messages at once; the others get one
call per message, several at a time on the delivery threads (the calls are network-bound and
independent of each other). Right before each call (or batch call) its campaign is looked at again
(`CampaignWatch`): a message whose campaign was paused, archived or its brand suspended while the
batch's earlier calls went out is withheld (decision record 18).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, wait
from uuid import UUID

from commands.application import CampaignApplication
from commands.credits.brand_standing import suspended_brands
from commands.sending.send_outcomes import WITHHELD
from commands.sending.send_phases import Answered, Prepared, Ready
from domain.campaign import Campaign, CampaignStatus
from storage.database import Database


class CampaignWatch:
    """Whether the campaigns of a batch still run while its calls go out: each is read again (from
    the event store, with its brand's standing) at most every `every` seconds, shared by the
    batch's threads, so that a pause, an archive or a suspension stops the calls not yet made
    within that time, at one read per campaign per period."""

    def __init__(
        self,
        store: CampaignApplication,
        db: Database,
        campaigns: Mapping[UUID, Campaign],
        every: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store, self.db, self.every, self.clock = store, db, every, clock
        now = clock()
        self.seen = {
            str(c): (campaign.status is CampaignStatus.ACTIVE, now) for c, campaign in campaigns.items()
        }
        self.lock = threading.Lock()

    def running(self, campaign_id: str) -> bool:
        with self.lock:
            active, at = self.seen.get(campaign_id, (False, float("-inf")))
            if active and self.clock() - at >= self.every:
                campaign = self.store.campaign(UUID(campaign_id))
                active = campaign.status is CampaignStatus.ACTIVE and not suspended_brands(
                    self.db, {campaign.brand_id}
                )
                self.seen[campaign_id] = (active, self.clock())
            return active


def call_providers(prepared: list[Prepared], pool: Executor, watch: CampaignWatch) -> list[Answered]:
    """Each prepared send answered, in their order: by its provider, or as it already was.

    When a call raises, every other call of the batch is let finish before the error goes on: the
    step locks go with it, and a delivery tried again at once (containment does) would otherwise
    ask the provider about a call still on its way, find nothing and send a second time."""
    answers: list[Answered | None] = [p if isinstance(p, Answered) else None for p in prepared]
    one_by_one: list[tuple[int, Ready]] = []
    batches: dict[int, list[tuple[int, Ready]]] = {}
    for index, item in enumerate(prepared):
        if isinstance(item, Answered):
            continue
        if item.provider.takes_batches:
            batches.setdefault(id(item.provider), []).append((index, item))
        else:
            one_by_one.append((index, item))
    calls = [pool.submit(_send_while_running, ready, watch) for _, ready in one_by_one]
    wait(calls)  # all answered or failed, whichever way the first of them ended
    for (index, _), call in zip(one_by_one, calls, strict=True):
        answers[index] = call.result()
    for batch in batches.values():
        going: list[tuple[int, Ready]] = []
        for index, ready in batch:
            if watch.running(ready.message.campaign_id):
                going.append((index, ready))
            else:
                answers[index] = ready.answered(WITHHELD)
        if going:
            provider = going[0][1].provider
            outcomes = provider.send_many([ready.message for _, ready in going])
            for (index, ready), outcome in zip(going, outcomes, strict=True):
                answers[index] = ready.answered(outcome)
    return [answer for answer in answers if answer is not None]


def _send_while_running(ready: Ready, watch: CampaignWatch) -> Answered:
    running = watch.running(ready.message.campaign_id)
    return ready.answered(ready.provider.send(ready.message) if running else WITHHELD)
