"""Part of the send use case: the value each phase of a send hands to the next, frozen.

A channel worker is given `Dispatch`es; deciding one gives an `Attempt` (or nothing: skipped, cancelled or deferred, counted in
`Decided`); the checks after the step locks give a new `Attempt` (the enrollment as stored now, the
campaign stopped meanwhile, the address suppressed); preparing gives a message `Ready` for its
provider or an `Answered` without a call; the call answers the ready ones; recording reads the
answers. No phase changes the value it was given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from uuid import UUID

from commands.sending.providers import OutboundMessage, Provider, SendOutcome
from commands.sending.sender_accounts import SenderAccount
from domain.campaign import Campaign
from domain.enrollment import Enrollment
from domain.message_key import message_key


@dataclass(frozen=True)
class Dispatch:
    """One step to send, as the channel worker takes it from its topic."""

    enrollment_id: UUID
    campaign_id: UUID
    step_id: str
    channel: str


@dataclass(frozen=True)
class Attempt:
    """A dispatch whose provider call is recorded as about to be made (or was, by an earlier run)."""

    dispatch: Dispatch
    enrollment: Enrollment
    account_id: UUID  # the sender account the attempt names
    account: SenderAccount | None  # known when this run claimed it; else read before the call
    reconcile: bool  # attempted before: ask the provider before calling it again
    may_send: bool = True  # False when the campaign stopped meanwhile: only reconcile
    claimed: bool = False  # quota taken by this run
    quiet_until: datetime | None = None  # a text or call asked about in quiet hours: not before then
    suppressed: bool = False  # the address was on the brand's suppression list right before sending

    @cached_property
    def message_key(self) -> str:
        return message_key(self.dispatch.enrollment_id, self.dispatch.step_id)


@dataclass(frozen=True)
class Decided:
    """Phase one's result: the attempts recorded, the campaigns read, and what was not attempted."""

    attempts: tuple[Attempt, ...]
    campaigns: Mapping[UUID, Campaign]
    skipped: int
    cancelled: int
    deferred: int


@dataclass(frozen=True)
class Answered:
    """An attempt's outcome: the provider's answer, or the one known without a call."""

    attempt: Attempt
    outcome: SendOutcome
    personalisation: str = "template"  # how the text was made, recorded on StepSent
    found_earlier: bool = False  # the provider had it from an earlier attempt: this run sent nothing


@dataclass(frozen=True)
class Ready:
    """An attempt's message, made and addressed, for its provider to take."""

    attempt: Attempt
    provider: Provider
    message: OutboundMessage
    personalisation: str  # how the text was made: the template, or a model's note

    def answered(self, outcome: SendOutcome) -> Answered:
        return Answered(self.attempt, outcome, self.personalisation)


# What preparing a send comes to: a message for the provider, or an outcome already.
Prepared = Ready | Answered
