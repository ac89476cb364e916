"""Use case: the provider reports what became of a sent step (a text delivered or not, a voicemail
call answered by a machine or a person), and the step's enrollment records it.

A report names its step by the key the send put in the callback URL (`<enrollment>:<step>`); a
key of another brand's enrollment is NotFound, so one brand's signature never writes another's
history. A text undelivered with a permanent error code (`PERMANENT_ERRORS`) is a hard bounce: the step
records it as one and the number goes on the brand's suppression list, as a hard-bounced email
address does (commands/inbound/bounces.py). Repeated or late reports change nothing (the
enrollment keeps the first), and a report
already handled (the same SID and status, webhook_receipts.py) is not even looked at again: a
replayed callback records nothing. For a voicemail call the answer also says what the call does next: play the step's audio to a
machine, hang up on a person, or wait while detection is still listening.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress as ignoring
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from commands.application import CampaignApplication, retry_on_conflict
from commands.audience.suppressions import InvalidAddress, suppress
from commands.inbound import webhook_receipts
from commands.inbound.webhook_receipts import Webhook
from domain.enrollment import Enrollment, StepStatus
from domain.errors import InvalidInput, NotFound
from storage.database import Database

DELIVERED, NOT_DELIVERED = {"delivered"}, {"undelivered", "failed"}
# Twilio's error codes for a number that can never take a text: a hard bounce, which suppresses it
# (invalid 'To', not a mobile number, unknown destination handset, landline or unreachable carrier).
PERMANENT_ERRORS = frozenset({"21211", "21614", "30005", "30006"})
CALL_NOT_ANSWERED = {"busy", "no-answer", "failed", "canceled"}


class CallAction(StrEnum):
    PLAY = "play"  # a machine took the call and its greeting ended: leave the message
    HANG_UP = "hang_up"  # a person answered, or the call cannot carry the message
    WAIT = "wait"  # detection is still listening


@dataclass(frozen=True)
class CallNext:
    action: CallAction
    audio_url: str | None = None


def step_of(key: str) -> tuple[UUID, str]:
    enrollment_id, _, step_id = key.partition(":")
    try:
        return UUID(enrollment_id), step_id
    except ValueError:
        raise InvalidInput(f"{key!r} is not a step key") from None


def record_message_status(
    store: CampaignApplication,
    db: Database,
    brand_id: UUID,
    key: str,
    message_sid: str,
    status: str,
    error_code: str | None,
    now: datetime,
) -> bool:
    """Record a text's delivery report; True when it changed the step."""

    hard = status in NOT_DELIVERED and error_code in PERMANENT_ERRORS
    reason = f"{status}: twilio error {error_code}" if error_code else status
    bounced_to: list[str] = []

    def report(enrollment: Enrollment, step_id: str) -> bool:
        if status in DELIVERED:
            return enrollment.record_delivered(step_id, status, now)
        if status in NOT_DELIVERED:
            number = enrollment.addresses.get("sms")
            if hard and number:  # also when the step was recorded before a crash left it unsuppressed
                bounced_to.append(number)
            return enrollment.record_undelivered(step_id, reason, now, hard=hard)
        return False  # queued, sent, ...: on its way

    receipt = webhook_receipts.receive(db, brand_id, Webhook.STATUS, message_sid, status, now)
    if receipt.repeat:
        return False
    changed = _change(store, brand_id, key, report)
    for number in bounced_to[-1:]:  # the last try's: a retried decision adds it again
        with ignoring(InvalidAddress):  # an enrollment holds only normalised numbers
            suppress(store, db, brand_id, number, f"hard bounce: {reason}", now)
    webhook_receipts.handled(db, receipt, now)
    return changed


def record_call_progress(
    store: CampaignApplication,
    db: Database,
    brand_id: UUID,
    key: str,
    call_sid: str,
    answered_by: str | None,
    call_status: str | None,
    now: datetime,
) -> CallNext:
    """Record what detection or the call status says, and what the call should do now."""

    def report(enrollment: Enrollment, step_id: str) -> bool:
        if answered_by and answered_by.startswith("machine"):
            return enrollment.record_delivered(step_id, "played to an answering machine", now)
        if answered_by == "human":
            return enrollment.record_answered_by_human(step_id, now)
        if answered_by:  # fax, unknown: nobody to leave a message with
            return enrollment.record_undelivered(step_id, f"answering machine detection: {answered_by}", now)
        if call_status in CALL_NOT_ANSWERED:
            return enrollment.record_undelivered(step_id, f"call {call_status}", now)
        return False

    event = f"{call_status or ''}/{answered_by or ''}"
    receipt = webhook_receipts.receive(db, brand_id, Webhook.VOICE, call_sid, event, now)
    if receipt.repeat:
        _change(store, brand_id, key, lambda enrollment, step_id: False)  # still only the brand's step
    else:
        _change(store, brand_id, key, report)
        webhook_receipts.handled(db, receipt, now)
    enrollment_id, step_id = step_of(key)
    enrollment = store.enrollment(enrollment_id)
    status = enrollment.status_of(step_id)
    if status is StepStatus.DELIVERED:
        step = next(s for s in enrollment.plan if s.id == step_id)
        return CallNext(CallAction.PLAY, step.audio_url)
    if status in (StepStatus.ANSWERED_BY_HUMAN, StepStatus.UNDELIVERED):
        return CallNext(CallAction.HANG_UP)
    return CallNext(CallAction.WAIT)


def _change(
    store: CampaignApplication, brand_id: UUID, key: str, report: Callable[[Enrollment, str], bool]
) -> bool:
    enrollment_id, step_id = step_of(key)

    def decide() -> bool:
        enrollment = store.enrollment(enrollment_id)
        if enrollment.brand_id != brand_id or step_id not in {s.id for s in enrollment.plan}:
            raise NotFound(f"step {key}")
        changed = report(enrollment, step_id)
        if changed:
            store.save_all([enrollment])
        return changed

    return retry_on_conflict(decide)
