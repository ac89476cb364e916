"""Use case: send a batch of dispatched steps, exactly once each, and record the outcomes.

A `Sender` is built once per channel worker with what it reads, writes and calls, and runs each
batch through its phases, each giving a new frozen value (commands/sending/send_phases.py). It
decides each dispatch and records the attempts, all in one write *before* any provider call
(commands/sending/send_decisions.py). Then it takes each step's lock
(commands/sending/step_locks.py), leaves alone a step another delivery is sending or has moved on,
reads each campaign and its brand's standing again and checks the suppression list as late as it
can (one query for the batch), prepares the messages (commands/sending/send_preparation.py), calls
the providers while their campaigns still run (commands/sending/provider_calls.py) and records
every outcome (commands/sending/send_outcomes.py) before the locks are let go.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from commands.application import CampaignApplication, retry_on_conflict
from commands.audience.lead_groups import contacts_by_id
from commands.audience.suppressions import suppress, suppressed_addresses
from commands.credits.brand_standing import suspended_brands
from commands.sending.claim_senders import remember_senders
from commands.sending.personalisation import TEMPLATE, Personaliser
from commands.sending.provider_calls import CampaignWatch, call_providers
from commands.sending.providers import PROVIDER_CONCURRENCY, Provider
from commands.sending.send_decisions import SendDecisions
from commands.sending.send_outcomes import SendReport, give_back_unused_quota, record_outcomes
from commands.sending.send_phases import Answered, Attempt, Dispatch, Prepared
from commands.sending.send_preparation import SendPreparation
from commands.sending.step_locks import step_locks
from commands.tracking.tracked_mail import MailTracking
from domain.campaign import Campaign, CampaignStatus
from domain.enrollment import StepStatus
from storage.database import Database

# Sends prepared at once: twice the provider's calls in flight, so that while PROVIDER_CONCURRENCY
# calls wait on the provider the others record their attempt or their answer, and a place freed
# by one answer is taken at once by a send that is ready (the adapters hold the places).
SEND_THREADS = 2 * PROVIDER_CONCURRENCY


class Sender:
    """A channel worker's sends: built once with its collaborators, then `send` for each batch.
    `calls` are the threads for network-bound work (a channel worker keeps its own for good), else
    threads live for one batch only."""

    def __init__(
        self,
        store: CampaignApplication,
        db: Database,
        providers: Mapping[str, Provider],
        now: Callable[[], datetime],
        personaliser: Personaliser = TEMPLATE,
        tracking: MailTracking | None = None,
        calls: Executor | None = None,
    ) -> None:
        self.store, self.db, self.now, self.calls = store, db, now, calls
        self.decisions = SendDecisions(store, db, now, list(providers))
        self.preparation = SendPreparation(db, providers, personaliser, tracking)

    def send(self, dispatches: list[Dispatch]) -> SendReport:
        decided = retry_on_conflict(lambda: self.decisions.decide(dispatches))
        report = SendReport(skipped=decided.skipped, cancelled=decided.cancelled, deferred=decided.deferred)
        with step_locks(self.db, [a.message_key for a in decided.attempts]) as held:
            attempts = self._still_ours(decided.attempts, held, report)
            attempts, campaigns = self._recheck_campaigns(attempts, decided.campaigns)
            attempts = self._recheck_consent(attempts)
            contacts = contacts_by_id(self.db, [a.enrollment.contact_id for a in attempts])
            with _delivery_threads(self.calls, len(attempts)) as pool:
                prepared = self._prepare(attempts, campaigns, contacts, pool)
                answers = call_providers(prepared, pool, CampaignWatch(self.store, self.db, campaigns))
            give_back_unused_quota(self.db, answers)
            record_outcomes(self.store, answers, campaigns, self.now, report)
        self._suppress_opted_out(answers)
        self._remember_senders(answers)
        return report

    def _still_ours(self, attempts: tuple[Attempt, ...], held: set[str], report: SendReport) -> list[Attempt]:
        """The attempts whose lock is ours and that nobody moved on since we looked, each with its
        enrollment as stored now.

        A step whose lock another delivery holds is being sent by it; one whose attempt changed
        since this run recorded or read it was handled by another delivery meanwhile. Either way
        this run leaves it, and keeps any quota it took: that quota pays for the other delivery's
        send. Only enrollments whose stored version moved are loaded again.
        """
        mine = [a for a in attempts if a.message_key in held]
        report.skipped += len(attempts) - len(mine)
        versions = self.store.versions([a.enrollment.id for a in mine])
        moved = [
            a.enrollment.id
            for a in mine
            if versions is None or versions.get(a.enrollment.id) != a.enrollment.version
        ]
        fresh = self.store.enrollments(list(set(moved))) if moved else {}
        kept = []
        for attempt in mine:
            step, seen = attempt.dispatch.step_id, attempt.enrollment
            current = fresh.get(seen.id, seen)
            expected = StepStatus.ATTEMPTED if attempt.may_send else seen.status_of(step)
            if current.status_of(step) is not expected or current.attempts.get(step) != seen.attempts.get(
                step
            ):
                report.skipped += 1
                continue
            kept.append(replace(attempt, enrollment=current))
        return kept

    def _recheck_campaigns(
        self, attempts: list[Attempt], campaigns: Mapping[UUID, Campaign]
    ) -> tuple[list[Attempt], dict[UUID, Campaign]]:
        """Each campaign (and its brand's standing) read again now that the attempts are recorded,
        and the sends of one paused, archived or suspended meanwhile withheld: only a send that
        reached the provider before its campaign stopped goes out. An attempt recorded after the
        stop finds it here; one recorded before is a step at the provider, whose credit the
        settlement keeps reserved until its outcome is known."""
        now_read = dict(campaigns)
        for campaign_id in {a.dispatch.campaign_id for a in attempts}:
            now_read[campaign_id] = self.store.campaign(campaign_id)
        suspended = suspended_brands(self.db, {c.brand_id for c in now_read.values()})
        rechecked = []
        for attempt in attempts:
            campaign = now_read[attempt.dispatch.campaign_id]
            if campaign.status is not CampaignStatus.ACTIVE or campaign.brand_id in suspended:
                attempt = replace(attempt, may_send=False)
            rechecked.append(attempt)
        return rechecked, now_read

    def _recheck_consent(self, attempts: list[Attempt]) -> list[Attempt]:
        """The attempts, those whose address is on the brand's suppression list now marked."""
        wanted, hashes = set(), {}
        for a in attempts:
            pair = (a.enrollment.brand_id, a.enrollment.addresses[a.dispatch.channel])
            wanted.add(pair)
            if a.dispatch.channel in a.enrollment.address_hashes:  # still matches an erased address
                hashes[pair] = a.enrollment.address_hashes[a.dispatch.channel]
        suppressed = suppressed_addresses(self.db, list(wanted), hashes)
        return [
            replace(
                a,
                suppressed=(a.enrollment.brand_id, a.enrollment.addresses[a.dispatch.channel]) in suppressed,
            )
            for a in attempts
        ]

    def _prepare(
        self,
        attempts: list[Attempt],
        campaigns: Mapping[UUID, Campaign],
        contacts: Mapping[UUID, dict[str, Any]],
        pool: Executor,
    ) -> list[Prepared]:
        """Each attempt prepared, in their order. Preparing may wait on the network (a provider
        asked about an earlier attempt, a model writing the text): those go to the threads, the
        rest is done here at once."""

        def prepare(attempt: Attempt) -> Prepared:
            return self.preparation.prepare(attempt, campaigns[attempt.dispatch.campaign_id], contacts)

        waits = [self.preparation.may_wait(a, campaigns[a.dispatch.campaign_id]) for a in attempts]
        ahead = iter(pool.map(prepare, [a for a, wait in zip(attempts, waits, strict=True) if wait]))
        return [next(ahead) if wait else prepare(a) for a, wait in zip(attempts, waits, strict=True)]

    def _suppress_opted_out(self, answers: list[Answered]) -> None:
        """A recipient the provider says opted out goes on the brand's list, so nothing more is sent."""
        for answer in answers:
            if answer.outcome.opted_out:
                enrollment = answer.attempt.enrollment
                address = enrollment.addresses[answer.attempt.dispatch.channel]
                reason = f"opted out at the provider ({answer.outcome.error})"
                suppress(self.store, self.db, enrollment.brand_id, address, reason[:200], self.now())

    def _remember_senders(self, answers: list[Answered]) -> None:
        """The account of each accepted send, kept for the contact's next send on the channel."""
        by_brand: dict[UUID, list[tuple[UUID, str, UUID]]] = {}
        for answer in answers:
            if answer.outcome.accepted:
                attempt = answer.attempt
                by_brand.setdefault(attempt.enrollment.brand_id, []).append(
                    (attempt.enrollment.contact_id, attempt.dispatch.channel, attempt.account_id)
                )
        for brand_id, sends in by_brand.items():
            remember_senders(self.db, brand_id, sends)


def send_dispatches(
    store: CampaignApplication,
    db: Database,
    providers: Mapping[str, Provider],
    dispatches: list[Dispatch],
    now: Callable[[], datetime],
    personaliser: Personaliser = TEMPLATE,
    tracking: MailTracking | None = None,
    calls: Executor | None = None,
) -> SendReport:
    """Send one batch with a sender of its own (a channel worker keeps one `Sender` instead)."""
    return Sender(store, db, providers, now, personaliser, tracking, calls).send(dispatches)


@contextmanager
def _delivery_threads(calls: Executor | None, attempts: int) -> Iterator[Executor]:
    """The caller's threads, or threads for this batch alone."""
    if calls is not None:
        yield calls
        return
    with ThreadPoolExecutor(max_workers=max(1, min(SEND_THREADS, attempts))) as pool:
        yield pool
