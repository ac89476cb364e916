"""A channel worker: takes batches of dispatches from `sends.<channel>` and sends them.

It only parses and hands on; the send use case decides. A message that cannot be decoded goes to
the dead-letter topic with its error instead of blocking the partition. A batch that fails for one
dispatch's fault is sent again one dispatch at a time (safe: a step attempted before is reconciled
with the provider by its key, never sent twice), and the dispatch that keeps failing is parked
(storage/parked.py), so the rest of the partition, every other brand's sends, goes on.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from commands.application import CampaignApplication
from commands.sending.personalisation import TEMPLATE, Personaliser
from commands.sending.providers import Provider
from commands.sending.send_outcomes import SendReport
from commands.sending.send_phases import Dispatch
from commands.sending.send_steps import SEND_THREADS, Sender
from commands.tracking.tracked_mail import MailTracking
from consumers.send_metrics import count_sends, timed
from consumers.transport import Transport
from consumers.transport.messages import DEAD_LETTER_TOPIC, SEND_TOPICS, decode_dispatch
from domain.message_key import message_key
from storage import containment, log_context, parked
from storage.database import Database
from storage.event_log import brand_of

log = logging.getLogger(__name__)


class ChannelWorker:
    def __init__(
        self,
        channel: str,
        store: CampaignApplication,
        db: Database,
        transport: Transport,
        providers: Mapping[str, Provider],
        now: Callable[[], datetime],
        personaliser: Personaliser = TEMPLATE,
        tracking: MailTracking | None = None,
    ) -> None:
        self.channel, self.store, self.db, self.transport = channel, store, db, transport
        # Threads for the provider calls, kept for good: starting them for each batch cost more
        # than the sends. The channel's own, so a slow provider never holds another channel's.
        self.calls = ThreadPoolExecutor(SEND_THREADS, thread_name_prefix=f"delivery:{channel}")
        # Built once: the providers timed, the tracking (the open pixel and click links of emails;
        # None: untracked) and the threads kept for every batch.
        self.sender = Sender(store, db, timed(providers, now), now, personaliser, tracking, self.calls)

    def handle(self, batch: list[bytes]) -> SendReport:
        """Send a batch of messages; the report adds up every part of it that went through."""
        dispatches, dead = [], False
        for raw in batch:
            try:
                dispatches.append(decode_dispatch(raw))
            except (ValueError, KeyError, TypeError) as bad:
                log.warning("undecodable dispatch sent to %s: %s", DEAD_LETTER_TOPIC, bad)
                letter = {
                    "topic": SEND_TOPICS[self.channel],
                    "error": str(bad),
                    "raw": raw.decode("utf-8", "replace"),
                }
                self.transport.publish(DEAD_LETTER_TOPIC, self.channel, json.dumps(letter).encode())
                dead = True
        reports: list[SendReport] = []
        if dispatches:
            containment.contain(dispatches, lambda part: reports.append(self._send(part)), self._park)
        if dead:
            self.transport.flush()
        total = SendReport.total(reports)
        count_sends(self.channel, total)
        return total

    def _send(self, dispatches: Sequence[Dispatch]) -> SendReport:
        campaigns = {dispatch.campaign_id for dispatch in dispatches}
        with log_context.bound(campaign_id=campaigns.pop() if len(campaigns) == 1 else None):
            return self._send_batch(dispatches)

    def _send_batch(self, dispatches: Sequence[Dispatch]) -> SendReport:
        report = self.sender.send(list(dispatches))
        log.debug("%s batch: %s", self.channel, report)
        return report

    def _park(self, dispatch: Dispatch, error: BaseException, tries: int) -> None:
        with self.db.transaction() as cur:
            item = message_key(dispatch.enrollment_id, dispatch.step_id)
            parked.park(cur, f"worker:{self.channel}", item, brand_of(self.store, dispatch), error, tries)

    def run_forever(self, stop: threading.Event) -> None:
        self.transport.consume(
            SEND_TOPICS[self.channel], f"campaign-workers-{self.channel}", self.handle, stop
        )
