"""The provider port's defaults: an adapter that takes no batches sends a batch one message at a
time, in order; the timed wrapper the channel workers use takes batches exactly when the adapter it
wraps does, and hands a batch on in one call."""

from __future__ import annotations

from datetime import UTC, datetime

from commands.sending.providers import OutboundMessage, Provider, SendOutcome
from consumers.send_metrics import TimedProvider

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def message(to: str) -> OutboundMessage:
    return OutboundMessage(
        f"key-{to}", "email", to, "sales@brand.example", "account", "campaign", "contact", "e0"
    )


class OneAtATime(Provider):
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def send(self, message: OutboundMessage) -> SendOutcome:
        self.calls.append([message.to])
        return SendOutcome(provider_message_id=f"id-{message.to}")

    def find_sent(self, message_key: str) -> str | None:
        return None


class Batches(OneAtATime):
    @property
    def takes_batches(self) -> bool:
        return True

    def send_many(self, messages: list[OutboundMessage]) -> list[SendOutcome]:
        self.calls.append([m.to for m in messages])
        return [SendOutcome(provider_message_id=f"batch-{m.to}") for m in messages]


def test_a_provider_that_takes_no_batches_sends_a_batch_one_message_at_a_time_in_order() -> None:
    provider = OneAtATime()
    assert not provider.takes_batches
    outcomes = provider.send_many([message("ann"), message("bob")])
    assert [o.provider_message_id for o in outcomes] == ["id-ann", "id-bob"]
    assert provider.calls == [["ann"], ["bob"]]


def test_the_timed_provider_takes_batches_exactly_when_the_one_it_wraps_does() -> None:
    one, batches = OneAtATime(), Batches()
    timed_one, timed_batches = (
        TimedProvider("one", {"one": one}, lambda: NOW),
        TimedProvider("b", {"b": batches}, lambda: NOW),
    )
    assert (timed_one.takes_batches, timed_batches.takes_batches) == (False, True)

    outcomes = timed_batches.send_many([message("ann"), message("bob")])
    assert [o.provider_message_id for o in outcomes] == ["batch-ann", "batch-bob"]
    assert batches.calls == [["ann", "bob"]]  # one call for the batch

    outcomes = timed_one.send_many([message("cy"), message("dee")])
    assert [o.provider_message_id for o in outcomes] == ["id-cy", "id-dee"]
    assert one.calls == [["cy"], ["dee"]]
