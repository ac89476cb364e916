"""Use case: send a batch of dispatched steps, exactly once each, and record the outcomes.

For each dispatch: skip it if it already has an outcome (a redelivery); cancel it if the campaign
is no longer ACTIVE; otherwise take sender quota and record the attempt. All attempts are saved in
one write *before* any provider call, then the outcomes in a second write. A redelivered dispatch
whose attempt is recorded asks the provider for the send first and never sends it again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from commands.application import CampaignApplication, retry_on_conflict
from commands.audience import contacts_by_id
from commands.providers import OutboundMessage, Provider, SendOutcome
from commands.sender_accounts import claim_quota, give_back_quota
from domain.campaign import Campaign, CampaignStatus
from domain.credit_cost import DEFAULT_UNIT_COSTS
from domain.enrollment import Enrollment
from domain.templates import MissingField, render
from storage.database import Database


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
    outcomes: list[tuple[Dispatch, str]] = field(default_factory=list)


@dataclass
class _Attempt:
    dispatch: Dispatch
    enrollment: Enrollment
    account: dict
    reconcile: bool


def send_dispatches(
    app: CampaignApplication,
    db: Database,
    providers: Mapping[str, Provider],
    dispatches: list[Dispatch],
    now: Callable[[], datetime],
) -> SendReport:
    report = SendReport()
    campaigns: dict[UUID, Campaign] = {}
    attempts = retry_on_conflict(lambda: _record_attempts(app, db, dispatches, campaigns, now, report))
    contacts = contacts_by_id(db, [a.enrollment.contact_id for a in attempts])
    outcomes = [_deliver(a, campaigns, contacts, providers, db) for a in attempts]
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
    return report


def _record_attempts(app, db, dispatches, campaigns, now, report) -> list[_Attempt]:
    """Cancel what may not be sent now, take quota and record attempts, in one write."""
    enrollments: dict[UUID, Enrollment] = {}
    attempts: list[_Attempt] = []
    seen: set[tuple[UUID, str]] = set()
    for dispatch in dispatches:
        if (dispatch.enrollment_id, dispatch.step_id) in seen:
            report.skipped += 1  # the same dispatch twice in one batch
            continue
        seen.add((dispatch.enrollment_id, dispatch.step_id))
        enrollment = enrollments.get(dispatch.enrollment_id) or app.find(dispatch.enrollment_id)
        if enrollment is None:
            report.skipped += 1
            continue
        enrollments[enrollment.id] = enrollment
        campaign = campaigns.get(dispatch.campaign_id) or app.get(dispatch.campaign_id)
        campaigns[campaign.id] = campaign
        status = enrollment.status_of(dispatch.step_id)
        if status not in ("dispatched", "attempted"):
            report.skipped += 1  # sent, failed, or cancelled already: a redelivery
            continue
        if campaign.status is not CampaignStatus.ACTIVE:
            if status == "dispatched":
                enrollment.cancel(dispatch.step_id, f"campaign {campaign.status.value}", now())
                report.cancelled += 1
            else:
                report.skipped += 1
            continue
        if status == "attempted":
            account = {"id": UUID(enrollment.sender_of[dispatch.step_id])}
            attempts.append(_Attempt(dispatch, enrollment, account, reconcile=True))
            continue
        account = claim_quota(db, campaign.brand_id, dispatch.channel)
        if account is None:
            enrollment.cancel(dispatch.step_id, "every sender account is at its daily cap", now())
            report.deferred += 1
            continue
        enrollment.attempt(dispatch.step_id, str(account["id"]), now())
        attempts.append(_Attempt(dispatch, enrollment, account, reconcile=False))
    try:
        app.save_all(list(enrollments.values()))
    except IntegrityError:
        for attempt in attempts:
            if not attempt.reconcile:
                give_back_quota(db, attempt.account["id"])
        report.cancelled = report.deferred = report.skipped = 0
        raise
    return attempts


def _record_outcomes(attempts, outcomes, campaigns, db, now, report) -> None:
    for attempt, outcome in zip(attempts, outcomes, strict=True):
        dispatch, enrollment = attempt.dispatch, attempt.enrollment
        unit = DEFAULT_UNIT_COSTS[campaigns[dispatch.campaign_id].step(dispatch.step_id).type]
        if outcome.accepted:
            enrollment.record_sent(dispatch.step_id, outcome.provider_message_id, unit, now())
            report.sent += 1
            report.outcomes.append((dispatch, "sent"))
        elif outcome.permanent:
            give_back_quota(db, attempt.account["id"])
            enrollment.record_failed(dispatch.step_id, outcome.error or "failed", unit, now())
            report.failed += 1
            report.outcomes.append((dispatch, "failed"))
        else:
            # Transient: the attempt stays recorded; the redelivered dispatch reconciles, retries.
            report.deferred += 1
            report.outcomes.append((dispatch, "retry"))


def _deliver(attempt, campaigns, contacts, providers, db) -> SendOutcome:
    """Call the provider, or find the earlier send of a recorded attempt instead of repeating it."""
    dispatch, enrollment = attempt.dispatch, attempt.enrollment
    provider = providers[attempt.account.get("provider") or _provider_of(db, attempt.account["id"])]
    key = f"{enrollment.id}:{dispatch.step_id}"
    if attempt.reconcile:
        found = provider.find_sent(key)
        if found:
            return SendOutcome(provider_message_id=found)
    try:
        message = _message(key, campaigns[dispatch.campaign_id], enrollment, dispatch, attempt, contacts, db)
    except MissingField as missing:
        return SendOutcome(error=f"template field {missing} is missing", permanent=True)
    return provider.send(message)


def _message(key, campaign, enrollment, dispatch, attempt, contacts, db) -> OutboundMessage:
    step = campaign.step(dispatch.step_id)
    contact = contacts.get(enrollment.contact_id) or {}
    values = {**(contact.get("fields") or {}), **{k: v for k, v in contact.items() if k != "fields"}}
    address = attempt.account.get("address") or _address_of(db, attempt.account["id"])
    return OutboundMessage(
        message_key=key,
        channel=dispatch.channel,
        to=enrollment.addresses[dispatch.channel],
        sender=address,
        sender_account_id=str(attempt.account["id"]),
        campaign_id=str(campaign.id),
        contact_id=str(enrollment.contact_id),
        step_id=step.id,
        subject=render(step.subject, values) if step.subject else None,
        body=render(step.body, values) if step.body else None,
        audio_url=step.audio_url,
    )


def _provider_of(db: Database, account_id: UUID) -> str:
    row = db.fetch_one("SELECT provider FROM sender_accounts WHERE id = %s", (account_id,))
    assert row is not None
    return row["provider"]


def _address_of(db: Database, account_id: UUID) -> str:
    row = db.fetch_one("SELECT address FROM sender_accounts WHERE id = %s", (account_id,))
    assert row is not None
    return row["address"]
