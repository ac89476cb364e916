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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from commands.application import CampaignApplication, retry_on_conflict
from commands.sending.claim_senders import give_back
from commands.sending.providers import SendOutcome
from commands.sending.send_phases import Answered
from domain.campaign import Campaign
from domain.credit_cost import DEFAULT_UNIT_COSTS
from domain.enrollment import REPLIED, Enrollment, StepStatus, WithdrawalCause
from storage.database import Database

MAX_TRANSIENT_TRIES = 5
WITHHELD = SendOutcome(error="withheld: the campaign is not active")
SUPPRESSED = SendOutcome(error="address suppressed (checked right before sending)", permanent=True)
CONTACT_REPLIED = SendOutcome(error=REPLIED, permanent=True)
QUIET_HOURS = SendOutcome(error="quiet hours: texts and calls wait for the contact's daytime")


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


def retry_delay(tries: int) -> timedelta:
    """Backoff after the n-th transient failure: 30 s, 1 min, 2 min, ... at most an hour."""
    return min(timedelta(seconds=30 * 2 ** max(tries - 1, 0)), timedelta(hours=1))


def give_back_unused_quota(db: Database, answers: list[Answered]) -> None:
    """Return the quota this run took for sends it did not make: once per attempt, one UPDATE per account."""
    unused = Counter(
        answer.attempt.account_id
        for answer in answers
        if answer.attempt.claimed
        and (not answer.outcome.accepted or answer.found_earlier)
        and not answer.outcome.keep_quota
    )
    for account_id, count in unused.items():
        give_back(db, account_id, count)


def record_outcomes(
    store: CampaignApplication,
    answers: list[Answered],
    campaigns: Mapping[UUID, Campaign],
    now: Callable[[], datetime],
    report: SendReport,
) -> None:
    """Record every outcome in one write; on a version conflict, each on fresh state."""
    for answer in answers:
        _record(answer.attempt.enrollment, answer, campaigns, now, report)
    try:
        store.save_all(list({id(a.attempt.enrollment): a.attempt.enrollment for a in answers}.values()))
        return
    except IntegrityError:
        pass  # someone else wrote one of these enrollments meanwhile (often the other channel's worker)
    for answer in answers:

        def again(answer: Answered = answer) -> None:
            enrollment = store.enrollment(answer.attempt.enrollment.id)
            if enrollment.status_of(answer.attempt.dispatch.step_id) is StepStatus.ATTEMPTED:
                _record(enrollment, answer, campaigns, now, SendReport())
                store.save_all([enrollment])

        retry_on_conflict(again)


def _record(
    enrollment: Enrollment,
    answer: Answered,
    campaigns: Mapping[UUID, Campaign],
    now: Callable[[], datetime],
    report: SendReport,
) -> None:
    attempt, outcome = answer.attempt, answer.outcome
    dispatch, step = attempt.dispatch, attempt.dispatch.step_id
    unit = DEFAULT_UNIT_COSTS[campaigns[dispatch.campaign_id].step(step).type]
    if (message_id := outcome.provider_message_id) is not None:  # accepted
        if enrollment.status_of(step) is not StepStatus.ATTEMPTED:
            enrollment.attempt(step, str(attempt.account_id), now())
        enrollment.record_sent(step, message_id, unit, now(), personalisation=answer.personalisation)
        report.sent += 1
    elif outcome is SUPPRESSED:
        enrollment.withdraw_step(
            step, outcome.error or "address suppressed", unit, now(), cause=WithdrawalCause.SUPPRESSED
        )
        report.withdrawn += 1
    elif outcome is CONTACT_REPLIED:
        enrollment.withdraw_step(step, REPLIED, unit, now(), cause=WithdrawalCause.REPLIED)
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
