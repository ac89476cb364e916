"""Part of the send use case: what one provider call's outcome does to the step and to the quota.

An accepted send is recorded as sent; a refusal for good fails the step and releases its credit;
an address found suppressed at send time, or a contact who replied meanwhile, withdraws the step
for good; a transient error defers
it with backoff; a campaign stopped meanwhile cancels it. Quota is settled apart from the events,
once per attempt as soon as the outcomes are known, because recording the events may have to run
again on fresh state when another writer saved the same enrollment meanwhile.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from commands.application import CampaignApplication, retry_on_conflict
from commands.sending.claim_senders import give_back
from commands.sending.providers import SendOutcome
from domain.campaign import Campaign
from domain.credit_cost import DEFAULT_UNIT_COSTS
from domain.enrollment import REPLIED, Enrollment, StepStatus
from storage.database import Database

MAX_TRANSIENT_TRIES = 5
WITHHELD = SendOutcome(error="withheld: the campaign is not active")
SUPPRESSED = SendOutcome(error="address suppressed (checked right before sending)", permanent=True)
CONTACT_REPLIED = SendOutcome(error=REPLIED, permanent=True)
QUIET_HOURS = SendOutcome(error="quiet hours: texts and calls wait for the contact's daytime")


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
    withdrawn: int = 0

    @classmethod
    def total(cls, reports: list[SendReport]) -> SendReport:
        return cls(**{name: sum(getattr(r, name) for r in reports) for name in vars(cls())})


@dataclass
class Attempt:
    dispatch: Dispatch
    enrollment: Enrollment
    account: dict[str, Any]
    reconcile: bool  # attempted before: ask the provider before calling it again
    may_send: bool = True  # False when the campaign stopped meanwhile: only reconcile
    claimed: bool = False  # quota taken by this run
    personalisation: str = "template"  # how the text was made, recorded on StepSent
    found_earlier: bool = False  # the provider had it from an earlier attempt: this run sent nothing
    suppressed: bool = False  # the address was on the brand's suppression list right before sending
    quiet_until: datetime | None = None  # a text or call asked about in quiet hours: not before then

    @property
    def message_key(self) -> str:
        return f"{self.dispatch.enrollment_id}:{self.dispatch.step_id}"


def retry_delay(tries: int) -> timedelta:
    """Backoff after the n-th transient failure: 30 s, 1 min, 2 min, ... at most an hour."""
    return min(timedelta(seconds=30 * 2 ** max(tries - 1, 0)), timedelta(hours=1))


def give_back_unused_quota(db: Database, attempts: list[Attempt], outcomes: list[SendOutcome]) -> None:
    """Return the quota this run took for sends it did not make: once per attempt, one UPDATE per account."""
    unused = Counter(
        attempt.account["id"]
        for attempt, outcome in zip(attempts, outcomes, strict=True)
        if attempt.claimed and (not outcome.accepted or attempt.found_earlier) and not outcome.keep_quota
    )
    for account_id, count in unused.items():
        give_back(db, account_id, count)


def record_outcomes(
    app: CampaignApplication,
    attempts: list[Attempt],
    outcomes: list[SendOutcome],
    campaigns: dict[UUID, Campaign],
    now: Callable[[], datetime],
    report: SendReport,
) -> None:
    """Record every outcome in one write; on a version conflict, each on fresh state."""
    for attempt, outcome in zip(attempts, outcomes, strict=True):
        _record(attempt, outcome, campaigns, now, report)
    try:
        app.save_all(list({id(a.enrollment): a.enrollment for a in attempts}.values()))
        return
    except IntegrityError:
        pass  # someone else wrote one of these enrollments meanwhile (often the other channel's worker)
    for attempt, outcome in zip(attempts, outcomes, strict=True):

        def again(attempt: Attempt = attempt, outcome: SendOutcome = outcome) -> None:
            attempt.enrollment = app.enrollment(attempt.enrollment.id)
            if attempt.enrollment.status_of(attempt.dispatch.step_id) is StepStatus.ATTEMPTED:
                _record(attempt, outcome, campaigns, now, SendReport())
                app.save_all([attempt.enrollment])

        retry_on_conflict(again)


def _record(
    attempt: Attempt,
    outcome: SendOutcome,
    campaigns: dict[UUID, Campaign],
    now: Callable[[], datetime],
    report: SendReport,
) -> None:
    dispatch, enrollment, step = attempt.dispatch, attempt.enrollment, attempt.dispatch.step_id
    unit = DEFAULT_UNIT_COSTS[campaigns[dispatch.campaign_id].step(step).type]
    if (message_id := outcome.provider_message_id) is not None:  # accepted
        if enrollment.status_of(step) is not StepStatus.ATTEMPTED:
            enrollment.attempt(step, str(attempt.account["id"]), now())
        enrollment.record_sent(step, message_id, unit, now(), personalisation=attempt.personalisation)
        report.sent += 1
    elif outcome is SUPPRESSED:
        enrollment.withdraw_step(step, outcome.error or "address suppressed", unit, now())
        report.withdrawn += 1
    elif outcome is CONTACT_REPLIED:
        enrollment.withdraw_step(step, REPLIED, unit, now())
        report.withdrawn += 1
    elif outcome is WITHHELD:
        enrollment.cancel(step, outcome.error or "withheld", now())
        report.cancelled += 1
    elif outcome is QUIET_HOURS and attempt.quiet_until is not None:
        enrollment.defer(step, outcome.error or "quiet hours", attempt.quiet_until, now())
        report.deferred += 1
    elif outcome.permanent or enrollment.attempts.get(step, 0) >= MAX_TRANSIENT_TRIES:
        reason = outcome.error or "failed"
        if not outcome.permanent:
            reason = f"gave up after {MAX_TRANSIENT_TRIES} transient errors: {reason}"
        enrollment.record_failed(step, reason, unit, now())
        report.failed += 1
    else:
        tries = enrollment.attempts.get(step, 1)
        at = now()
        enrollment.defer(step, f"transient: {outcome.error}", at + retry_delay(tries), at)
        report.deferred += 1
