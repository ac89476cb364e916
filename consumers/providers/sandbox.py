"""The sandbox provider: "sends" by writing to an outbox table that the API shows.

Every call is written, duplicates included, so a double send shows up as two rows: the outbox is
the independent witness of the exactly-once promise. `find_sent` answers from it like a provider
that can look a message up by its idempotency key. Recipients can ask for failures, as a real
provider's test numbers do: an address starting `fail-permanent` is refused for good, and one
starting `fail-transient-N` answers "try again later" to its first N calls.
"""

from __future__ import annotations

import re
import time
from typing import Any
from uuid import UUID, uuid4

from commands.sending.providers import OutboundMessage, Provider, SendOutcome
from consumers.providers.calls_in_flight import CallsInFlight
from storage.database import Database


class SandboxProvider(Provider):
    def __init__(self, db: Database, delay_s: float = 0.0) -> None:
        self.db = db
        self.delay_s = delay_s  # a provider's latency, for load and crash tests
        self.calls = CallsInFlight()

    def send(self, message: OutboundMessage) -> SendOutcome:
        with self.calls.place(message.channel):
            return self._take([message])[0]

    @property
    def takes_batches(self) -> bool:
        """A batch in one call and one write, as a provider with a batch endpoint takes it; not
        when a latency is asked for, so that each message is a call of its own that takes that
        long (the load and crash tests rely on sends in flight)."""
        return not self.delay_s

    def send_many(self, messages: list[OutboundMessage]) -> list[SendOutcome]:
        return self._take(messages) if self.takes_batches else super().send_many(messages)

    def _take(self, messages: list[OutboundMessage]) -> list[SendOutcome]:
        """What a provider does with the calls: take each message, or refuse it."""
        if self.delay_s:
            time.sleep(self.delay_s)
        outcomes: list[SendOutcome] = []
        refused: list[tuple[str, str | None]] = []
        taken: list[tuple[Any, ...]] = []
        for message in messages:
            refusal = self._refusal(message)
            if refusal is not None:
                refused.append((message.message_key, refusal.error))
                outcomes.append(refusal)
                continue
            provider_message_id = f"sandbox-{uuid4()}"
            taken.append((provider_message_id, *_outbox_row(message)))
            outcomes.append(SendOutcome(provider_message_id=provider_message_id))
        with self.db.transaction() as cur:
            if refused:
                cur.executemany("INSERT INTO sandbox_refusals (message_key, error) VALUES (%s, %s)", refused)
            if taken:
                cur.execute(
                    """INSERT INTO sandbox_outbox (provider_message_id, message_key, channel, "to",
                       "from", subject, body, audio_url, campaign_id, contact_id, step_id, brand_id)
                       SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[],
                            %b::text[], %b::text[], %b::text[], %b::text[], %b::uuid[], %b::uuid[],
                            %b::text[], %b::uuid[])""",
                    [list(column) for column in zip(*taken, strict=True)],
                )
        return outcomes

    def _refusal(self, message: OutboundMessage) -> SendOutcome | None:
        to = message.to.lstrip("+")
        if to.startswith("fail-permanent"):
            return SendOutcome(error="sandbox: recipient refused (permanent)", permanent=True)
        match = re.match(r"fail-transient-(\d+)", to)
        if match:
            refused = self.db.fetch_one(
                "SELECT count(*) AS n FROM sandbox_refusals WHERE message_key = %s", (message.message_key,)
            )
            if (refused["n"] if refused else 0) < int(match.group(1)):  # count(*) always answers
                return SendOutcome(error="sandbox: 429 too many requests (transient)")
        return None

    def find_sent(self, message_key: str) -> str | None:
        row = self.db.fetch_one(
            "SELECT provider_message_id FROM sandbox_outbox WHERE message_key = %s ORDER BY seq LIMIT 1",
            (message_key,),
        )
        return row["provider_message_id"] if row else None


def _outbox_row(message: OutboundMessage) -> tuple[Any, ...]:
    return (
        message.message_key,
        message.channel,
        message.to,
        message.sender,
        message.subject,
        message.body,
        message.audio_url,
        message.campaign_id,
        message.contact_id,
        message.step_id,
        message.brand_id or None,
    )


def outbox(db: Database, brand_id: UUID, campaign_id: UUID | None, limit: int = 500) -> list[dict[str, Any]]:
    """What the sandbox "sent" for one brand, optionally for one of its campaigns, oldest first."""
    return db.fetch_all(
        """SELECT channel, "to", "from", subject, body, audio_url, campaign_id, contact_id, step_id,
                  provider_message_id, sent_at
           FROM sandbox_outbox
           WHERE brand_id = %(brand)s AND (%(campaign)s::uuid IS NULL OR campaign_id = %(campaign)s)
           ORDER BY seq LIMIT %(limit)s""",
        {"brand": brand_id, "campaign": campaign_id, "limit": limit},
    )
