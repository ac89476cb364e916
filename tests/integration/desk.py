"""The write side on real PostgreSQL with no timed role running: the test holds the clock.

Brands, senders, contacts and campaigns are set up through the HTTP API as a client would; then
each use case (launch, enrol, dispatch, send, settle) is called directly with the moment the test
chooses, so due times, backoffs and resets are asserted exactly, and fast, without waiting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from commands.campaigns.launch_campaign import launch_campaign
from commands.credits.brand_standing import suspended_brands
from commands.credits.settle_credits import settle_next_batch
from commands.sending.dispatch_due_steps import dispatch_due_steps
from commands.sending.enroll_contacts import enroll_pending_campaigns
from commands.sending.personalisation import TEMPLATE, Personaliser
from commands.sending.providers import OutboundMessage, Provider, SendOutcome
from commands.sending.send_outcomes import SendReport
from commands.sending.send_phases import Dispatch
from commands.sending.send_steps import send_dispatches
from commands.tracking.tracked_mail import MailTracking
from domain.credit_ledger import Reservation
from domain.enrollment import Enrollment, dispatched_steps
from runtime.service import Service
from tests.support import Client, running_service

# Accepted by the provider, but the answer never came back: the caller sees a timeout.
LOST = SendOutcome(provider_message_id="lost", error="read timeout: the answer was lost")


@dataclass
class ScriptedProvider(Provider):
    """A provider whose answers the test scripts: each call to an address takes that address's next
    outcome (the last repeats), else the next of `outcomes`; `during` runs inside each call."""

    outcomes: list[SendOutcome] = field(default_factory=lambda: [SendOutcome(provider_message_id="ok")])
    per_address: dict[str, list[SendOutcome]] = field(default_factory=dict)
    during: Callable[[OutboundMessage], None] | None = None
    sent: list[OutboundMessage] = field(default_factory=list)
    accepted: dict[str, str] = field(default_factory=dict)
    lookups: int = 0
    lookup_failure: Exception | None = None  # raised by every lookup while set

    def send(self, message: OutboundMessage) -> SendOutcome:
        script = self.per_address.get(message.to, self.outcomes)
        calls = (
            sum(m.to == message.to for m in self.sent) if message.to in self.per_address else len(self.sent)
        )
        outcome = script[min(calls, len(script) - 1)]
        self.sent.append(message)
        if self.during:
            self.during(message)
        if outcome.accepted:
            message_id = f"{outcome.provider_message_id}-{len(self.sent)}"
            self.accepted[message.message_key] = message_id
            return SendOutcome(error=outcome.error) if outcome is LOST else SendOutcome(message_id)
        return outcome

    def find_sent(self, message_key: str) -> str | None:
        self.lookups += 1
        if self.lookup_failure is not None:
            raise self.lookup_failure
        return self.accepted.get(message_key)


@dataclass
class Desk:
    service: Service
    client: Client
    provider: ScriptedProvider
    seen: dict[UUID, int] = field(default_factory=dict)  # dispatches handed out so far

    @property
    def store(self) -> Any:
        return self.service.store

    def campaign(self, contacts: list[dict[str, Any]], steps: list[dict[str, Any]], **extra: Any) -> UUID:
        group = self.client.lead_group(contacts)
        body = {"name": "desk", "lead_group_ids": [group], "steps": steps, **extra}
        return UUID(self.client.ok(self.client.post("/v1/campaign/", body), 201)["id"])

    def launch(self, campaign_id: UUID, now: datetime) -> list[UUID]:
        """Launch and enrol the whole audience at `now`; the enrollment ids, by contact email."""
        launch_campaign(self.store, self.service.db, self.client.brand_id, campaign_id, now)
        while enroll_pending_campaigns(self.store, self.service.db, now):
            pass
        rows = self.service.db.fetch_all(
            "SELECT contact_id FROM launch_audiences WHERE campaign_id = %s ORDER BY email", (campaign_id,)
        )
        return [Enrollment.create_id(campaign_id, row["contact_id"]) for row in rows]

    def dispatch(self, enrollment_ids: list[UUID], now: datetime) -> list[Dispatch]:
        """Dispatch what is due at `now` (as the scheduler does: none of a suspended brand); the dispatches a worker would receive that it has not yet
        (those made at enrollment, for a group due at launch, included)."""
        dispatch_due_steps(self.store, enrollment_ids, now, suspended_brands(self.service.db))
        found = []
        for e in enrollment_ids:
            events = self.events(e, object)
            steps = [(event.campaign_id, *step) for event in events for step in dispatched_steps(event)]
            found += [Dispatch(e, *step) for step in steps[self.seen.get(e, 0) :]]
            self.seen[e] = len(steps)
        return found

    def send(
        self,
        dispatches: list[Dispatch],
        now: datetime,
        personaliser: Personaliser = TEMPLATE,
        tracking: MailTracking | None = None,
    ) -> SendReport:
        providers = {"sandbox": self.provider}
        db = self.service.db
        return send_dispatches(self.store, db, providers, dispatches, lambda: now, personaliser, tracking)

    def settle(self, now: datetime) -> None:
        while settle_next_batch(self.store, self.service.db, now):
            pass

    def events(self, enrollment_id: UUID, kind: type) -> list[Any]:
        return [e for e in self.store.events.get(enrollment_id) if isinstance(e, kind)]

    def enrollment(self, enrollment_id: UUID) -> Enrollment:
        return self.store.enrollment(enrollment_id)

    def reservation(self, campaign_id: UUID) -> Reservation:
        return self.store.ledger(self.client.brand_id).reservation(campaign_id)

    def sends_today(self) -> list[int]:
        rows = self.service.db.fetch_all(
            "SELECT sends_today FROM sender_accounts WHERE brand_id = %s ORDER BY address",
            (self.client.brand_id,),
        )
        return [row["sends_today"] for row in rows]


# Only the projector runs: the API answers a create once its read model has it (read-your-writes).
ROLES = ("projector",)


@contextmanager
def desk(database_url: str, provider: ScriptedProvider | None = None) -> Iterator[Desk]:
    """A desk on a database of its own: for tests that look at state every brand shares."""
    with running_service(database_url, roles=ROLES) as service:
        yield Desk(service, Client(service), provider or ScriptedProvider())


def desk_for_a_new_brand(service: Service, provider: ScriptedProvider | None = None) -> Desk:
    """A desk for a brand of its own on a service many tests share (each asserts on its brand only)."""
    return Desk(service, Client(service), provider or ScriptedProvider())
