"""The port every delivery provider adapter implements (Gmail, Twilio, the sandbox), with the
message it is handed and the outcome it answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

# Calls in flight to a provider, per channel and per process: a slow provider's channel sends at
# most this many divided by its latency (consumers/providers/calls_in_flight.py keeps the count).
PROVIDER_CONCURRENCY = 8


@dataclass(frozen=True)
class OutboundMessage:
    message_key: str  # deterministic per enrollment and step: the provider-side idempotency key
    channel: str
    to: str
    sender: str
    sender_account_id: str
    campaign_id: str
    contact_id: str
    step_id: str
    brand_id: str = ""
    subject: str | None = None
    body: str | None = None
    audio_url: str | None = None
    due_at: datetime | None = None  # when the step's group became due (the send lag is measured from it)


@dataclass(frozen=True)
class SendOutcome:
    provider_message_id: str | None = None
    error: str | None = None
    permanent: bool = False
    # The account was parked for the day (the provider's own daily limit): the unit taken for this
    # call is not given back, or it would open the account for one more refused call.
    keep_quota: bool = False
    opted_out: bool = False  # the provider says the recipient opted out: suppress the address

    @property
    def accepted(self) -> bool:
        return self.provider_message_id is not None


class ReconcileFailed(Exception):
    """The provider could not be asked whether it already has a message: do not send it again now."""


class Provider(Protocol):
    """An adapter subclasses this port to take its defaults: one call per message, made by
    `send_many` one after the other. One that takes a batch in one call says so (`takes_batches`)
    and overrides `send_many`; the send path then hands it each batch's messages at once, and
    calls the others one message at a time, several at a time, on its delivery threads."""

    def send(self, message: OutboundMessage) -> SendOutcome:
        """Hand one message to the provider; never raises for provider errors."""
        ...

    def find_sent(self, message_key: str) -> str | None:
        """The provider message id of an earlier accepted send with this key, if any; ReconcileFailed
        when the provider cannot tell now."""
        ...

    @property
    def takes_batches(self) -> bool:
        """Whether `send_many` hands its messages to the provider in one call."""
        return False

    def send_many(self, messages: list[OutboundMessage]) -> list[SendOutcome]:
        """Hand the messages to the provider, one outcome each in their order; never raises for
        provider errors. By default one `send` per message."""
        return [self.send(message) for message in messages]
