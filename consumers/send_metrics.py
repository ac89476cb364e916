"""What the channel workers count for Prometheus: sends by outcome, each provider call's time, and
how late a send is (from the time its step became due to the provider call).

Labels are the channel, the provider adapter's name and the outcome: a handful of values each,
never a brand, a contact, a campaign or an address. The lag is measured from the enrollment's due
time for the step's group (moved on by a deferral: quiet hours, a sender at its cap, a retry), so it
adds up the scheduler's, the relay's and the worker's delays. Each call also binds the message's
brand and campaign for the log lines the provider's SDK writes meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime

from prometheus_client import Counter, Histogram

from commands.sending.providers import OutboundMessage, Provider, SendOutcome
from commands.sending.send_outcomes import SendReport
from storage import log_context

SENDS = Counter(
    "campaign_service_sends",
    "Dispatched steps handled by the channel workers, by outcome"
    " (sent, failed, deferred, cancelled, withdrawn, skipped)",
    ["channel", "outcome"],
)
PROVIDER_CALL_SECONDS = Histogram(
    "campaign_service_provider_call_seconds",
    "Time one provider call took (a batch call counts once)",
    ["channel", "provider"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SEND_LAG_SECONDS = Histogram(
    "campaign_service_send_lag_seconds",
    "Seconds from the time a step became due to its provider call",
    ["channel"],
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600, 14400, 86400),
)
OUTCOMES = tuple(vars(SendReport()))


def count_sends(channel: str, report: SendReport) -> None:
    for outcome in OUTCOMES:
        if count := getattr(report, outcome):
            SENDS.labels(channel, outcome).inc(count)


def timed(providers: Mapping[str, Provider], now: Callable[[], datetime]) -> dict[str, Provider]:
    """The providers, each call timed and its lag measured on the service's clock; each is taken
    from `providers` at its first use, so one built on demand is built only if a send needs it."""
    return {name: TimedProvider(name, providers, now) for name in providers}


class TimedProvider(Provider):
    """A provider whose calls are observed; it takes batches exactly when the one it wraps does."""

    def __init__(self, name: str, providers: Mapping[str, Provider], now: Callable[[], datetime]) -> None:
        self.name, self.providers, self.now = name, providers, now

    @property
    def provider(self) -> Provider:
        return self.providers[self.name]

    def send(self, message: OutboundMessage) -> SendOutcome:
        self._lag(message)
        started = time.perf_counter()
        with log_context.bound(brand_id=message.brand_id or None, campaign_id=message.campaign_id):
            try:
                return self.provider.send(message)
            finally:
                PROVIDER_CALL_SECONDS.labels(message.channel, self.name).observe(
                    time.perf_counter() - started
                )

    @property
    def takes_batches(self) -> bool:
        return self.provider.takes_batches

    def send_many(self, messages: list[OutboundMessage]) -> list[SendOutcome]:
        """One observation for the wrapped provider's batch call (a provider that takes no batches
        sends through `send` here, so that each of its calls is observed)."""
        if not self.provider.takes_batches:
            return super().send_many(messages)
        for message in messages:
            self._lag(message)
        started = time.perf_counter()
        try:
            return self.provider.send_many(messages)
        finally:
            channel = messages[0].channel if messages else ""
            PROVIDER_CALL_SECONDS.labels(channel, self.name).observe(time.perf_counter() - started)

    def find_sent(self, message_key: str) -> str | None:
        return self.provider.find_sent(message_key)

    def __getattr__(self, name: str) -> object:  # what else an adapter offers (the Gmail sessions, ...)
        if name in ("name", "providers", "now"):  # not set yet (a copy being made): never recurse
            raise AttributeError(name)
        return getattr(self.provider, name)

    def _lag(self, message: OutboundMessage) -> None:
        if message.due_at is not None:
            lag = (self.now() - message.due_at).total_seconds()
            SEND_LAG_SECONDS.labels(message.channel).observe(max(lag, 0.0))
