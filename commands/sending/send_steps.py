"""Use case: send a batch of dispatched steps, exactly once each, and record the outcomes.

Phase one decides each dispatch: skip it if it has an outcome already (a redelivery), cancel it if
the campaign is no longer ACTIVE or its brand is suspended (it waits, as on a pause), defer a text
or call due in the contact's quiet hours to the next allowed time, defer it if every sender is at
its cap, else take quota through the rotation and record the attempt; all in one write *before* any provider call. Phase two takes
each step's lock (commands/sending/step_locks.py), leaves alone a step another delivery is sending,
checks the suppression list as late as it can (one query for the batch), calls the providers
(an email's body carrying its open pixel and tracked links, commands/tracking/tracked_mail.py)
(asking first, for a step attempted before, whether the provider already has it) and records
every outcome (commands/sending/send_outcomes.py) before the locks are let go.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from commands.application import CampaignApplication, retry_on_conflict
from commands.audience.lead_groups import contacts_by_id
from commands.audience.suppressions import suppress, suppressed_addresses
from commands.credits.brand_standing import suspended_brands
from commands.sending.claim_senders import claim_senders, give_back, remember_senders
from commands.sending.messaging_settings import quiet_hours_of
from commands.sending.personalisation import TEMPLATE, Personaliser, contact_values, personalise_step
from commands.sending.providers import (
    PROVIDER_CONCURRENCY,
    OutboundMessage,
    Provider,
    ReconcileFailed,
    SendOutcome,
)
from commands.sending.send_outcomes import (
    CONTACT_REPLIED,
    QUIET_HOURS,
    SUPPRESSED,
    WITHHELD,
    Attempt,
    Dispatch,
    SendReport,
    give_back_unused_quota,
    record_outcomes,
)
from commands.sending.step_locks import step_locks
from commands.tracking.tracked_mail import MailTracking
from domain.campaign import Campaign, CampaignStatus
from domain.enrollment import IN_FLIGHT, Enrollment, StepStatus
from domain.quiet_hours import CHANNELS as QUIET_CHANNELS
from domain.quiet_hours import QuietHours
from domain.templates import MissingField
from storage.database import Database

# Sends prepared at once: twice the provider's calls in flight, so that while PROVIDER_CONCURRENCY
# calls wait on the provider the others record their attempt or their answer, and a place freed
# by one answer is taken at once by a send that is ready (the adapters hold the places).
SEND_THREADS = 2 * PROVIDER_CONCURRENCY

# What a send comes to before the call: the provider and its message, or an outcome already.
Prepared = tuple[Provider, OutboundMessage] | SendOutcome


def next_quota_reset(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), datetime.min.time(), UTC)


def send_dispatches(
    app: CampaignApplication,
    db: Database,
    providers: Mapping[str, Provider],
    dispatches: list[Dispatch],
    now: Callable[[], datetime],
    personaliser: Personaliser = TEMPLATE,
    tracking: MailTracking | None = None,
    calls: Executor | None = None,
) -> SendReport:
    """Send the batch; `calls` are the threads for network-bound work (a channel worker keeps its
    own for good), else threads live for this batch only."""
    report = SendReport()
    campaigns: dict[UUID, Campaign] = {}
    attempts = retry_on_conflict(
        lambda: _record_attempts(app, db, dispatches, campaigns, now, report, list(providers))
    )
    with step_locks(db, [a.message_key for a in attempts]) as held:
        attempts = _still_ours(app, attempts, held, report)
        _check_campaigns(app, db, attempts, campaigns)
        _check_consent(db, attempts)
        contacts = contacts_by_id(db, [a.enrollment.contact_id for a in attempts])
        with _delivery_threads(calls, len(attempts)) as pool:

            def prepare(attempt: Attempt) -> Prepared:
                return _prepare(attempt, campaigns, contacts, providers, db, personaliser, tracking)

            # Preparing may wait on the network (a provider asked about an earlier attempt, a
            # model writing the text): those go to the threads, the rest is done here at once.
            waits = [_may_wait(a, campaigns, providers) for a in attempts]
            ahead = iter(pool.map(prepare, [a for a, wait in zip(attempts, waits, strict=True) if wait]))
            prepared = [next(ahead) if wait else prepare(a) for a, wait in zip(attempts, waits, strict=True)]
            outcomes = _call_providers(prepared, pool, CampaignWatch(app, db, campaigns))
        give_back_unused_quota(db, attempts, outcomes)
        record_outcomes(app, attempts, outcomes, campaigns, now, report)
    _suppress_opted_out(app, db, attempts, outcomes, now)
    by_brand: dict[UUID, list[tuple[UUID, str, UUID]]] = {}
    for attempt, outcome in zip(attempts, outcomes, strict=True):
        if outcome.accepted:
            by_brand.setdefault(attempt.enrollment.brand_id, []).append(
                (attempt.enrollment.contact_id, attempt.dispatch.channel, attempt.account["id"])
            )
    for brand_id, sends in by_brand.items():
        remember_senders(db, brand_id, sends)
    return report


def _suppress_opted_out(
    app: CampaignApplication,
    db: Database,
    attempts: list[Attempt],
    outcomes: list[SendOutcome],
    now: Callable[[], datetime],
) -> None:
    """A recipient the provider says opted out goes on the brand's list, so nothing more is sent."""
    for attempt, outcome in zip(attempts, outcomes, strict=True):
        if outcome.opted_out:
            address = attempt.enrollment.addresses[attempt.dispatch.channel]
            reason = f"opted out at the provider ({outcome.error})"
            suppress(app, db, attempt.enrollment.brand_id, address, reason[:200], now())


def _still_ours(
    app: CampaignApplication, attempts: list[Attempt], held: set[str], report: SendReport
) -> list[Attempt]:
    """Keep the attempts whose lock is ours and that nobody moved on since we looked.

    A step whose lock another delivery holds is being sent by it; one whose attempt changed
    since this run recorded or read it was handled by another delivery meanwhile. Either way this
    run leaves it, and keeps any quota it took: that quota pays for the other delivery's send.
    Only enrollments whose stored version moved are loaded again.
    """
    mine = [a for a in attempts if a.message_key in held]
    report.skipped += len(attempts) - len(mine)
    versions = app.versions([a.enrollment.id for a in mine])
    moved = [
        a.enrollment.id
        for a in mine
        if versions is None or versions.get(a.enrollment.id) != a.enrollment.version
    ]
    fresh = app.enrollments(list(set(moved))) if moved else {}
    kept = []
    for attempt in mine:
        step, seen = attempt.dispatch.step_id, attempt.enrollment
        current = fresh.get(seen.id, seen)
        expected = StepStatus.ATTEMPTED if attempt.may_send else seen.status_of(step)
        if current.status_of(step) is not expected or current.attempts.get(step) != seen.attempts.get(step):
            report.skipped += 1
            continue
        attempt.enrollment = current
        kept.append(attempt)
    return kept


def _check_campaigns(
    app: CampaignApplication, db: Database, attempts: list[Attempt], campaigns: dict[UUID, Campaign]
) -> None:
    """Read each campaign (and its brand's standing) again now that the attempts are recorded, and
    withhold the sends of one paused, archived or suspended meanwhile: only a send that reached the
    provider before its campaign stopped goes out. An attempt recorded after the stop finds it
    here; one recorded before is a step at the provider, whose credit the settlement keeps
    reserved until its outcome is known."""
    for campaign_id in {a.dispatch.campaign_id for a in attempts}:
        campaigns[campaign_id] = app.campaign(campaign_id)
    suspended = suspended_brands(db, {c.brand_id for c in campaigns.values()})
    for attempt in attempts:
        campaign = campaigns[attempt.dispatch.campaign_id]
        if campaign.status is not CampaignStatus.ACTIVE or campaign.brand_id in suspended:
            attempt.may_send = False


def _check_consent(db: Database, attempts: list[Attempt]) -> None:
    """Mark the attempts whose address is on the brand's suppression list now."""
    wanted = {(a.enrollment.brand_id, a.enrollment.addresses[a.dispatch.channel]) for a in attempts}
    suppressed = suppressed_addresses(db, list(wanted))
    for attempt in attempts:
        address = attempt.enrollment.addresses[attempt.dispatch.channel]
        attempt.suppressed = (attempt.enrollment.brand_id, address) in suppressed


def _record_attempts(
    app: CampaignApplication,
    db: Database,
    dispatches: list[Dispatch],
    campaigns: dict[UUID, Campaign],
    now: Callable[[], datetime],
    report: SendReport,
    providers: Collection[str],
) -> list[Attempt]:
    """Cancel, defer or attempt each dispatch; quota for the batch in one claim, one write in all."""
    enrollments: dict[UUID, Enrollment] = {}
    attempts: list[Attempt] = []
    to_claim: dict[tuple[UUID, str], list[tuple[Dispatch, Enrollment]]] = defaultdict(list)
    seen: set[tuple[UUID, str]] = set()
    hours: dict[UUID, QuietHours] = {}
    loaded = app.enrollments(list({d.enrollment_id for d in dispatches}))
    # A suspended brand's dispatches go back to wait, as a pause's do (credit kept reserved).
    suspended = suspended_brands(db, {e.brand_id for e in loaded.values()})
    for dispatch in dispatches:
        if (dispatch.enrollment_id, dispatch.step_id) in seen:
            report.skipped += 1  # the same dispatch twice in one batch
            continue
        seen.add((dispatch.enrollment_id, dispatch.step_id))
        enrollment = loaded.get(dispatch.enrollment_id)
        if enrollment is None:
            report.skipped += 1
            continue
        enrollments[enrollment.id] = enrollment
        campaign = campaigns.get(dispatch.campaign_id) or app.campaign(dispatch.campaign_id)
        campaigns[campaign.id] = campaign
        step, status = dispatch.step_id, enrollment.status_of(dispatch.step_id)
        if status not in IN_FLIGHT:
            report.skipped += 1  # sent, failed, cancelled or deferred already: a stale delivery
            continue
        active = campaign.status is CampaignStatus.ACTIVE and campaign.brand_id not in suspended
        if status is StepStatus.ATTEMPTED or (enrollment.was_attempted(step) and not active):
            previous = {"id": UUID(enrollment.sender_of[step])}
            # Asked about first; if the provider never got it, a text or call still keeps the
            # contact's quiet hours, however late the redelivery comes.
            allowed = _allowed_at(db, hours, campaign.brand_id, dispatch.channel, enrollment, now())
            quiet_until = allowed if active and allowed > now() else None
            attempts.append(
                Attempt(
                    dispatch, enrollment, previous, reconcile=True, may_send=active, quiet_until=quiet_until
                )
            )
        elif not active:
            why = "brand suspended" if campaign.brand_id in suspended else f"campaign {campaign.status.value}"
            enrollment.cancel(step, why, now())
            report.cancelled += 1
        elif (
            allowed := _allowed_at(db, hours, campaign.brand_id, dispatch.channel, enrollment, now())
        ) > now():
            enrollment.defer(step, QUIET_HOURS.error or "", allowed, now())
            report.deferred += 1
        else:
            to_claim[(campaign.brand_id, dispatch.channel)].append((dispatch, enrollment))
    claimed: list[dict[str, Any]] = []
    for (brand_id, channel), waiting in to_claim.items():
        accounts = claim_senders(db, brand_id, channel, [e.contact_id for _, e in waiting], providers)
        granted: set[UUID] = set()  # one unit per contact was claimed; a second step waits a moment
        for dispatch, enrollment in waiting:
            step, account = dispatch.step_id, accounts[enrollment.contact_id]
            if account is None:
                enrollment.defer(
                    step, "every sender account is at its daily cap", next_quota_reset(now()), now()
                )
                report.deferred += 1
                continue
            if enrollment.contact_id in granted:
                enrollment.defer(step, "another step to this contact is being sent", now(), now())
                report.deferred += 1
                continue
            granted.add(enrollment.contact_id)
            claimed.append(account)
            reconcile = enrollment.was_attempted(step)
            enrollment.attempt(step, str(account["id"]), now())
            attempts.append(Attempt(dispatch, enrollment, account, reconcile=reconcile, claimed=True))
    try:
        app.save_all(list(enrollments.values()))
    except IntegrityError:
        for account in claimed:
            give_back(db, account["id"])
        report.cancelled = report.deferred = report.skipped = 0
        raise
    return attempts


def _allowed_at(
    db: Database,
    hours: dict[UUID, QuietHours],
    brand_id: UUID,
    channel: str,
    enrollment: Enrollment,
    moment: datetime,
) -> datetime:
    """When this step may go: `moment`, or for a text or call in quiet hours the next allowed time
    in the contact's zone (the brand's hours read once per batch)."""
    if channel not in QUIET_CHANNELS:
        return moment
    if brand_id not in hours:
        hours.update(quiet_hours_of(db, [brand_id]))
    return hours[brand_id].next_allowed(moment, enrollment.timezone)


def _may_wait(
    attempt: Attempt, campaigns: Mapping[UUID, Campaign], providers: Mapping[str, Provider]
) -> bool:
    """Whether preparing this send may wait on the network: it asks the provider about an earlier
    attempt, its text comes from a model, or its provider (unknown until its account is read)
    takes one call per message anyway."""
    provider = providers.get(attempt.account.get("provider", ""))
    return (
        attempt.reconcile
        or campaigns[attempt.dispatch.campaign_id].ai_personalization
        or getattr(provider, "send_many", None) is None
    )


@contextmanager
def _delivery_threads(calls: Executor | None, attempts: int) -> Iterator[Executor]:
    """The caller's threads, or threads for this batch alone."""
    if calls is not None:
        yield calls
        return
    with ThreadPoolExecutor(max_workers=max(1, min(SEND_THREADS, attempts))) as pool:
        yield pool


def _call_providers(prepared: list[Prepared], pool: Executor, watch: CampaignWatch) -> list[SendOutcome]:
    """Hand each prepared message to its provider: a provider that takes a batch in one call gets
    all of its messages at once; the others get one call per message, several at a time (the calls
    are network-bound and independent of each other).

    When a call raises, every other call of the batch is let finish before the error goes on: the
    step locks go with it, and a delivery tried again at once (containment does) would otherwise
    ask the provider about a call still on its way, find nothing and send a second time.

    Right before each call (or batch call) its campaign is looked at again (`watch`): a message
    whose campaign was paused or archived while the batch's earlier calls went out is withheld."""
    outcomes: list[SendOutcome | None] = [p if isinstance(p, SendOutcome) else None for p in prepared]
    one_by_one: list[tuple[int, Provider, OutboundMessage]] = []
    batches: dict[int, tuple[Callable[[list[OutboundMessage]], list[SendOutcome]], list[int]]] = {}
    for index, item in enumerate(prepared):
        if isinstance(item, SendOutcome):
            continue
        provider, message = item
        if (send_many := getattr(provider, "send_many", None)) is not None:
            batches.setdefault(id(provider), (send_many, []))[1].append(index)
        else:
            one_by_one.append((index, provider, message))
    calls = [
        pool.submit(_send_while_running, provider, message, watch) for _, provider, message in one_by_one
    ]
    wait(calls)  # all answered or failed, whichever way the first of them ended
    for (index, _, _), call in zip(one_by_one, calls, strict=True):
        outcomes[index] = call.result()
    for send_many, indexes in batches.values():
        messages = {i: cast(tuple[Provider, OutboundMessage], prepared[i])[1] for i in indexes}
        going = [i for i in indexes if watch.running(messages[i].campaign_id)]
        for index in set(indexes) - set(going):
            outcomes[index] = WITHHELD
        if going:
            for index, outcome in zip(going, send_many([messages[i] for i in going]), strict=True):
                outcomes[index] = outcome
    return [outcome for outcome in outcomes if outcome is not None]


def _send_while_running(provider: Provider, message: OutboundMessage, watch: CampaignWatch) -> SendOutcome:
    return provider.send(message) if watch.running(message.campaign_id) else WITHHELD


class CampaignWatch:
    """Whether the campaigns of a batch still run while its calls go out: each is read again (from
    the event store, with its brand's standing) at most every `every` seconds, shared by the
    batch's threads, so that a pause, an archive or a suspension stops the calls not yet made
    within that time, at one read per campaign per period."""

    def __init__(
        self,
        app: CampaignApplication,
        db: Database,
        campaigns: Mapping[UUID, Campaign],
        every: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app, self.db, self.every, self.clock = app, db, every, clock
        now = clock()
        self.seen = {
            str(c): (campaign.status is CampaignStatus.ACTIVE, now) for c, campaign in campaigns.items()
        }
        self.lock = threading.Lock()

    def running(self, campaign_id: str) -> bool:
        with self.lock:
            active, at = self.seen.get(campaign_id, (False, float("-inf")))
            if active and self.clock() - at >= self.every:
                campaign = self.app.campaign(UUID(campaign_id))
                active = campaign.status is CampaignStatus.ACTIVE and not suspended_brands(
                    self.db, {campaign.brand_id}
                )
                self.seen[campaign_id] = (active, self.clock())
            return active


def _prepare(
    attempt: Attempt,
    campaigns: Mapping[UUID, Campaign],
    contacts: Mapping[UUID, dict[str, Any]],
    providers: Mapping[str, Provider],
    db: Database,
    personaliser: Personaliser = TEMPLATE,
    tracking: MailTracking | None = None,
) -> Prepared:
    """The message to hand to the provider, or the outcome without a call: the earlier send of a
    recorded attempt found instead of repeating it; nothing goes to a suppressed address."""
    dispatch, enrollment = attempt.dispatch, attempt.enrollment
    if "provider" not in attempt.account:
        attempt.account.update(_account(db, attempt.account["id"]))
    provider = providers.get(attempt.account["provider"])
    if provider is None:  # an account whose provider has no adapter in this build
        return SendOutcome(error=f"no {attempt.account['provider']} adapter in this build", permanent=True)
    key = attempt.message_key
    if attempt.reconcile:
        try:
            found = provider.find_sent(key)
        except ReconcileFailed as unknown:  # never send again without knowing: try later
            return SendOutcome(error=f"could not ask the provider about the earlier attempt: {unknown}")
        if found:
            attempt.found_earlier = True
            return SendOutcome(provider_message_id=found)
    if attempt.suppressed:
        return SUPPRESSED
    if enrollment.replied_at is not None:  # the contact replied since the step was dispatched
        return CONTACT_REPLIED
    if not attempt.may_send:
        return WITHHELD
    if attempt.quiet_until is not None:
        return QUIET_HOURS
    try:
        campaign = campaigns[dispatch.campaign_id]
        message = _message(key, campaign, enrollment, dispatch, attempt, contacts, personaliser, tracking)
    except MissingField as missing:
        return SendOutcome(error=f"template field {missing} is missing", permanent=True)
    return provider, message


def _message(
    key: str,
    campaign: Campaign,
    enrollment: Enrollment,
    dispatch: Dispatch,
    attempt: Attempt,
    contacts: Mapping[UUID, dict[str, Any]],
    personaliser: Personaliser,
    tracking: MailTracking | None = None,
) -> OutboundMessage:
    step = campaign.step(dispatch.step_id)
    values = contact_values(contacts.get(enrollment.contact_id) or {})
    text = personalise_step(personaliser, campaign.ai_personalization, step, values)
    attempt.personalisation = text.note
    body = text.body
    if tracking is not None and dispatch.channel == "email" and body:
        body = tracking.tracked_body(
            body, step.body or "", enrollment.brand_id, campaign.id, enrollment.id, step.id
        )
    return OutboundMessage(
        message_key=key,
        channel=dispatch.channel,
        to=enrollment.addresses[dispatch.channel],
        sender=attempt.account["address"],
        sender_account_id=str(attempt.account["id"]),
        campaign_id=str(campaign.id),
        contact_id=str(enrollment.contact_id),
        step_id=step.id,
        brand_id=str(enrollment.brand_id),
        subject=text.subject,
        body=body,
        audio_url=step.audio_url,
        due_at=enrollment.due_at,
    )


def _account(db: Database, account_id: UUID) -> dict[str, Any]:
    row = db.fetch_one("SELECT id, provider, address FROM sender_accounts WHERE id = %s", (account_id,))
    if row is None:
        raise LookupError(f"sender account {account_id} vanished")
    return row
