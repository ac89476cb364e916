"""Use case: send a batch of dispatched steps, exactly once each, and record the outcomes.

Phase one decides each dispatch: skip it if it has an outcome already (a redelivery), cancel it if
the campaign is no longer ACTIVE, defer it if every sender is at its cap, else take quota through
the rotation and record the attempt; all in one write *before* any provider call. Phase two calls
the providers (asking first, for a step attempted before, whether the provider already has it) and
records every outcome in a second write: sent, failed for good (its credit released, its quota
given back), or deferred with backoff after a transient error.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from commands.application import CampaignApplication, retry_on_conflict
from commands.audience import contacts_by_id
from commands.personalisation import TEMPLATE, Personaliser, contact_values, personalise_step
from commands.providers import OutboundMessage, Provider, SendOutcome
from commands.sender_rotation import claim_senders, give_back, remember_senders
from domain.campaign import Campaign, CampaignStatus
from domain.credit_cost import DEFAULT_UNIT_COSTS
from domain.enrollment import Enrollment
from domain.templates import MissingField
from storage.database import Database

MAX_TRANSIENT_TRIES = 5
PROVIDER_CONCURRENCY = 8
WITHHELD = SendOutcome(error="withheld: the campaign is not active")


def retry_delay(tries: int) -> timedelta:
    """Backoff after the n-th transient failure: 30 s, 1 min, 2 min, ... at most an hour."""
    return min(timedelta(seconds=30 * 2 ** max(tries - 1, 0)), timedelta(hours=1))


def next_quota_reset(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), datetime.min.time(), UTC)


@dataclass(frozen=True)
class Dispatch:
    enrollment_id: UUID
    campaign_id: UUID
    step_id: str
    channel: str


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    cancelled: int = 0
    skipped: int = 0
    deferred: int = 0


@dataclass
class _Attempt:
    dispatch: Dispatch
    enrollment: Enrollment
    account: dict[str, Any]
    reconcile: bool  # attempted before: ask the provider before calling it again
    may_send: bool = True  # False when the campaign stopped meanwhile: only reconcile
    claimed: bool = False  # quota taken by this run
    personalisation: str = "template"  # how the text was made, recorded on StepSent


def send_dispatches(
    app: CampaignApplication,
    db: Database,
    providers: Mapping[str, Provider],
    dispatches: list[Dispatch],
    now: Callable[[], datetime],
    personaliser: Personaliser = TEMPLATE,
) -> SendReport:
    report = SendReport()
    campaigns: dict[UUID, Campaign] = {}
    attempts = retry_on_conflict(
        lambda: _record_attempts(app, db, dispatches, campaigns, now, report, list(providers))
    )
    contacts = contacts_by_id(db, [a.enrollment.contact_id for a in attempts])
    # Provider calls are network-bound: several at once, each independent of the others.
    with ThreadPoolExecutor(max_workers=max(1, min(PROVIDER_CONCURRENCY, len(attempts)))) as calls:
        outcomes = list(
            calls.map(lambda a: _deliver(a, campaigns, contacts, providers, db, personaliser), attempts)
        )
    try:
        _record_outcomes(attempts, outcomes, campaigns, db, now, report)
        app.save_all([a.enrollment for a in attempts])
    except IntegrityError:
        # Someone else wrote one of these enrollments meanwhile: record each outcome on fresh state.
        for attempt, outcome in zip(attempts, outcomes, strict=True):
            attempt.enrollment = app.get(attempt.enrollment.id)
            if attempt.enrollment.status_of(attempt.dispatch.step_id) == "attempted":
                _record_outcomes([attempt], [outcome], campaigns, db, now, SendReport())
                app.save_all([attempt.enrollment])
    by_brand: dict[UUID, list[tuple[UUID, str, UUID]]] = {}
    for attempt, outcome in zip(attempts, outcomes, strict=True):
        if outcome.accepted:
            by_brand.setdefault(attempt.enrollment.brand_id, []).append(
                (attempt.enrollment.contact_id, attempt.dispatch.channel, attempt.account["id"])
            )
    for brand_id, sends in by_brand.items():
        remember_senders(db, brand_id, sends)
    return report


def _record_attempts(app, db, dispatches, campaigns, now, report, providers) -> list[_Attempt]:
    """Cancel, defer or attempt each dispatch; quota for the batch in one claim, one write in all."""
    enrollments: dict[UUID, Enrollment] = {}
    attempts: list[_Attempt] = []
    to_claim: dict[tuple[UUID, str], list[tuple[Dispatch, Enrollment]]] = defaultdict(list)
    seen: set[tuple[UUID, str]] = set()
    loaded = app.get_many(list({d.enrollment_id for d in dispatches}))
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
        campaign = campaigns.get(dispatch.campaign_id) or app.get(dispatch.campaign_id)
        campaigns[campaign.id] = campaign
        step, status = dispatch.step_id, enrollment.status_of(dispatch.step_id)
        if status not in ("dispatched", "attempted"):
            report.skipped += 1  # sent, failed, cancelled or deferred already: a stale delivery
            continue
        active = campaign.status is CampaignStatus.ACTIVE
        if status == "attempted" or (enrollment.was_attempted(step) and not active):
            previous = {"id": UUID(enrollment.sender_of[step])}
            attempts.append(_Attempt(dispatch, enrollment, previous, reconcile=True, may_send=active))
        elif not active:
            enrollment.cancel(step, f"campaign {campaign.status.value}", now())
            report.cancelled += 1
        else:
            to_claim[(campaign.brand_id, dispatch.channel)].append((dispatch, enrollment))
    claimed: list[dict[str, Any]] = []
    for (brand_id, channel), waiting in to_claim.items():
        accounts = claim_senders(db, brand_id, channel, [e.contact_id for _, e in waiting], providers)
        granted: set[UUID] = set()  # one unit per contact was claimed; a second step waits a moment
        for dispatch, enrollment in waiting:
            step, account = dispatch.step_id, accounts[enrollment.contact_id]
            if account is None:
                enrollment.defer(step, "every sender account is at its daily cap", next_quota_reset(now()))
                report.deferred += 1
                continue
            if enrollment.contact_id in granted:
                enrollment.defer(step, "another step to this contact is being sent", now())
                report.deferred += 1
                continue
            granted.add(enrollment.contact_id)
            claimed.append(account)
            reconcile = enrollment.was_attempted(step)
            enrollment.attempt(step, str(account["id"]), now())
            attempts.append(_Attempt(dispatch, enrollment, account, reconcile=reconcile, claimed=True))
    try:
        app.save_all(list(enrollments.values()))
    except IntegrityError:
        for account in claimed:
            give_back(db, account["id"])
        report.cancelled = report.deferred = report.skipped = 0
        raise
    return attempts


def _deliver(attempt, campaigns, contacts, providers, db, personaliser=TEMPLATE) -> SendOutcome:
    """Call the provider, or find the earlier send of a recorded attempt instead of repeating it."""
    dispatch, enrollment = attempt.dispatch, attempt.enrollment
    if "provider" not in attempt.account:
        attempt.account.update(_account(db, attempt.account["id"]))
    provider = providers.get(attempt.account["provider"])
    if provider is None:  # an account whose provider has no adapter in this build
        return SendOutcome(error=f"no {attempt.account['provider']} adapter in this build", permanent=True)
    key = f"{enrollment.id}:{dispatch.step_id}"
    if attempt.reconcile:
        found = provider.find_sent(key)
        if found:
            return SendOutcome(provider_message_id=found)
    if not attempt.may_send:
        return WITHHELD
    try:
        campaign = campaigns[dispatch.campaign_id]
        message = _message(key, campaign, enrollment, dispatch, attempt, contacts, personaliser)
    except MissingField as missing:
        return SendOutcome(error=f"template field {missing} is missing", permanent=True)
    return provider.send(message)


def _record_outcomes(attempts, outcomes, campaigns, db, now, report) -> None:
    for attempt, outcome in zip(attempts, outcomes, strict=True):
        dispatch, enrollment, step = attempt.dispatch, attempt.enrollment, attempt.dispatch.step_id
        unit = DEFAULT_UNIT_COSTS[campaigns[dispatch.campaign_id].step(step).type]
        if outcome.accepted:
            if attempt.claimed and attempt.reconcile:
                give_back(db, attempt.account["id"])  # found sent earlier: this run sent nothing
            if enrollment.status_of(step) != "attempted":
                enrollment.attempt(step, str(attempt.account["id"]), now())
            enrollment.record_sent(
                step, outcome.provider_message_id, unit, now(), personalisation=attempt.personalisation
            )
            report.sent += 1
            continue
        if attempt.claimed:
            give_back(db, attempt.account["id"])
        if outcome is WITHHELD:
            enrollment.cancel(step, outcome.error or "withheld", now())
            report.cancelled += 1
        elif outcome.permanent or enrollment.attempts.get(step, 0) >= MAX_TRANSIENT_TRIES:
            reason = outcome.error or "failed"
            if not outcome.permanent:
                reason = f"gave up after {MAX_TRANSIENT_TRIES} transient errors: {reason}"
            enrollment.record_failed(step, reason, unit, now())
            report.failed += 1
        else:
            tries = enrollment.attempts.get(step, 1)
            enrollment.defer(step, f"transient: {outcome.error}", now() + retry_delay(tries))
            report.deferred += 1


def _message(key, campaign, enrollment, dispatch, attempt, contacts, personaliser) -> OutboundMessage:
    step = campaign.step(dispatch.step_id)
    values = contact_values(contacts.get(enrollment.contact_id) or {})
    text = personalise_step(personaliser, campaign.ai_personalization, step, values)
    attempt.personalisation = text.note
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
        body=text.body,
        audio_url=step.audio_url,
    )


def _account(db: Database, account_id: UUID) -> dict[str, Any]:
    row = db.fetch_one("SELECT id, provider, address FROM sender_accounts WHERE id = %s", (account_id,))
    assert row is not None, f"sender account {account_id} vanished"
    return row
