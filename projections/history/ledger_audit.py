"""The credit audit's rules: a brand's ledger rebuilt from its raw events, every invariant checked.

Given the brand's ledger, campaign and enrollment events in log order, it lists every grant (a
purchase with its reference, a plan's with its period), reservation, send (a consumed unit: campaign, contact, step, provider message id), step release
and ledger settlement with the running balance, and checks DESIGN.md's invariants as it goes:
the balance is never negative; a purchase's reference and a plan's period are granted once; per
campaign reserved = consumed + released + outstanding with
nothing outstanding below zero; nothing outstanding once a COMPLETED or ARCHIVED campaign has
been settled; no send without a reservation; no send of a step whose credit was already released
or after its campaign's reservation was closed; and, once settled, the ledger's consumption of a
campaign equals the credits its sends carry. Pure: no I/O, so crafted histories test every rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.campaign import Campaign
from domain.credit_ledger import CreditLedger
from domain.enrollment import Enrollment


@dataclass(frozen=True)
class Entry:
    position: int
    occurred_at: datetime
    kind: str  # grant, reservation, send, step released, consumed, released
    amount: int  # credits: a reservation is negative (it leaves the balance); sends and settlements
    # move credits inside a reservation, the balance stays
    balance_after: int
    campaign_id: UUID | None = None
    contact_id: UUID | None = None
    step_id: str | None = None
    provider_message_id: str | None = None
    reason: str | None = None
    reference: str | None = None  # a purchase's invoice or payment id


@dataclass(frozen=True)
class Violation:
    invariant: str
    position: int | None
    detail: str

    def __str__(self) -> str:
        where = f" (log position {self.position})" if self.position is not None else ""
        return f"{self.invariant}{where}: {self.detail}"


@dataclass
class CampaignCredits:
    reserved: int = 0
    reserved_at: int | None = None  # log position of the reservation
    consumed: int = 0  # by the ledger's settlement
    released: int = 0  # by the ledger's settlement
    sent: int = 0  # credits carried by the enrollments' StepSent
    steps_released: int = 0  # credits carried by StepFailed and StepWithdrawn
    closed_at: int | None = None  # COMPLETED or ARCHIVED, log position
    settled_close_at: int | None = None  # the ledger's release at close, log position
    # Steps at a provider when the campaign closed, whose credit the close kept: each one's
    # outcome position once it has one (None while it is still at the provider).
    held: dict[tuple[UUID, str], int | None] = field(default_factory=dict)
    sent_after_close: list[tuple[int, int]] = field(default_factory=list)  # (position, credits)

    @property
    def outstanding(self) -> int:
        return self.reserved - self.consumed - self.released


@dataclass
class Audit:
    entries: list[Entry] = field(default_factory=list)
    campaigns: dict[UUID, CampaignCredits] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    balance: int = 0
    settled_through: int = 0
    notes: list[str] = field(default_factory=list)
    references: set[str] = field(default_factory=set)  # purchases granted
    periods: set[str] = field(default_factory=set)  # plan periods granted


Step = tuple[UUID, str]  # an enrollment and one of its steps
OUTCOMES = (Enrollment.StepSent, Enrollment.StepFailed, Enrollment.StepWithdrawn, Enrollment.StepCancelled)


@dataclass
class _Log:
    """What the rules remember along the log besides the audit itself."""

    contacts: dict[UUID, UUID]  # enrollment -> contact
    enrolled_in: dict[UUID, UUID]  # enrollment -> campaign
    released_steps: set[Step] = field(default_factory=set)
    at_provider: dict[Step, tuple[UUID, int]] = field(default_factory=dict)  # -> campaign, first attempt


def audit_ledger(
    events: Iterable[tuple[int, Any]], contacts: dict[UUID, UUID], enrolled_in: dict[UUID, UUID] | None = None
) -> Audit:
    """Rebuild and check; `events` are (log position, domain event) in log order, `contacts` maps
    each enrollment to its contact and `enrolled_in` to its campaign (for attempts recorded before
    they named it). Violations come in the order they were found: along the log, then those only
    the end of the history shows (per campaign)."""
    audit = Audit()
    seen = _Log(contacts, enrolled_in or {})
    for position, event in events:
        _apply(audit, position, event, seen)
    for campaign_id, credits in audit.campaigns.items():
        _check_at_end(audit, campaign_id, credits)
    return audit


def _follow_attempts(seen: _Log, credits: CampaignCredits | None, position: int, event: Any) -> bool:
    """Keep track of the steps at a provider; whether `event` was a step held at its campaign's
    close (its outcome settles the unit the close kept)."""
    step = (event.originator_id, event.step_id)
    if isinstance(event, Enrollment.StepAttempted):
        campaign = event.campaign_id or seen.enrolled_in.get(event.originator_id)
        if campaign is not None:
            seen.at_provider.setdefault(step, (campaign, position))
        return False
    seen.at_provider.pop(step, None)
    if credits is None or step not in credits.held or credits.held[step] is not None:
        return False
    credits.held[step] = position
    return True


def _apply(audit: Audit, position: int, event: Any, seen: _Log) -> None:
    contacts, released_steps = seen.contacts, seen.released_steps

    def entry(kind: str, amount: int, **more: Any) -> None:
        audit.entries.append(Entry(position, event.timestamp, kind, amount, audit.balance, **more))

    def broken(invariant: str, detail: str) -> None:
        audit.violations.append(Violation(invariant, position, detail))

    campaign_id = getattr(event, "campaign_id", None)
    credits = audit.campaigns.setdefault(campaign_id, CampaignCredits()) if campaign_id else None
    held = (
        _follow_attempts(seen, credits, position, event)
        if isinstance(event, (Enrollment.StepAttempted, *OUTCOMES))
        else False
    )
    if isinstance(event, CreditLedger.CreditsGranted):
        audit.balance += event.amount
        entry("grant", event.amount, reason=event.reason, reference=event.reference)
        if event.reference is not None:
            if event.reference in audit.references:
                broken("purchase-granted-once", f"reference {event.reference!r} was granted again")
            audit.references.add(event.reference)
        if event.period is not None:
            if event.period in audit.periods:
                broken("plan-period-granted-once", f"the plan's period {event.period} was granted again")
            audit.periods.add(event.period)
    elif isinstance(event, CreditLedger.CreditsReserved) and credits is not None:
        audit.balance -= event.amount
        credits.reserved += event.amount
        credits.reserved_at = position
        entry("reservation", -event.amount, campaign_id=campaign_id)
    elif isinstance(event, CreditLedger.CreditsConsumed | CreditLedger.CreditsReleased) and credits:
        audit.settled_through = max(audit.settled_through, event.settled_through)
        if isinstance(event, CreditLedger.CreditsConsumed):
            credits.consumed += event.amount
            entry("consumed", event.amount, campaign_id=campaign_id, reason="sends settled")
        else:
            credits.released += event.amount
            audit.balance += event.amount
            entry("released", event.amount, campaign_id=campaign_id, reason=event.reason)
            if event.closes:
                credits.settled_close_at = position
                _check_kept(audit, credits, event.campaign_id, position, event.held)
        if credits.reserved_at is None:
            broken("reservation-balances", f"campaign {campaign_id} settles credits it never reserved")
        elif credits.outstanding < 0:
            broken(
                "reservation-balances",
                f"campaign {campaign_id}: consumed {credits.consumed} + released {credits.released} "
                f"exceed the {credits.reserved} reserved",
            )
    elif isinstance(event, Enrollment.StepSent) and credits is not None:
        credits.sent += event.credits
        contact = contacts.get(event.originator_id)
        entry(
            "send",
            event.credits,
            campaign_id=campaign_id,
            contact_id=contact,
            step_id=event.step_id,
            provider_message_id=event.provider_message_id,
        )
        step = f"step {event.step_id} of contact {contact} in campaign {campaign_id}"
        if credits.settled_close_at is not None:
            credits.sent_after_close.append((position, event.credits))
        if credits.reserved_at is None:
            broken("no-send-without-reservation", f"{step} was sent with no reservation")
        elif (event.originator_id, event.step_id) in released_steps:
            broken("no-send-after-release", f"{step} was sent after its credit was released")
        elif credits.settled_close_at is not None and not held:
            broken(
                "no-send-after-release",
                f"{step} was sent after the campaign's reservation was closed, and was not at the "
                "provider then",
            )
    elif isinstance(event, Enrollment.StepFailed | Enrollment.StepWithdrawn) and credits is not None:
        credits.steps_released += event.credits_released
        released_steps.add((event.originator_id, event.step_id))
        contact = contacts.get(event.originator_id)
        entry(
            "step released",
            event.credits_released,
            campaign_id=campaign_id,
            contact_id=contact,
            step_id=event.step_id,
        )
    elif isinstance(event, Campaign.CampaignCompleted | Campaign.CampaignArchived):
        closing = audit.campaigns.setdefault(event.originator_id, CampaignCredits())
        if closing.closed_at is None:
            closing.closed_at = position
            closing.held = {
                step: None
                for step, (campaign, attempted) in seen.at_provider.items()
                if campaign == event.originator_id and attempted < position
            }
    if audit.balance < 0:
        broken("balance-never-negative", f"the balance fell to {audit.balance}")


def _check_kept(audit: Audit, credits: CampaignCredits, campaign_id: UUID, position: int, kept: int) -> None:
    """The ledger's close of a reservation keeps no more units than there were steps at the provider."""
    if kept > len(credits.held):
        audit.violations.append(
            Violation(
                "close-keeps-only-steps-at-the-provider",
                position,
                f"campaign {campaign_id}: its close kept {kept} credits for {len(credits.held)} steps at "
                "the provider",
            )
        )


def _check_at_end(audit: Audit, campaign_id: UUID, credits: CampaignCredits) -> None:
    settled = credits.closed_at is not None and audit.settled_through >= credits.closed_at
    if credits.closed_at is not None and not settled:
        audit.notes.append(f"campaign {campaign_id} is closed; its settlement has not caught up yet")
    # A step at the provider when the campaign closed keeps its credit until its outcome is settled.
    waiting = sum(1 for ended in credits.held.values() if ended is None or ended > audit.settled_through)
    if settled and waiting:
        audit.notes.append(
            f"campaign {campaign_id} keeps {waiting} credits for steps that were at a provider when it "
            "closed, until their outcome is settled"
        )
    if settled and credits.outstanding != waiting:
        audit.violations.append(
            Violation(
                "nothing-outstanding-at-close",
                credits.closed_at,
                f"campaign {campaign_id} is COMPLETED or ARCHIVED with {credits.outstanding} credits outstanding"
                + (f", {waiting} of them for steps at a provider" if waiting else ""),
            )
        )
    unsettled = sum(amount for at, amount in credits.sent_after_close if at > audit.settled_through)
    if settled and credits.consumed != credits.sent - unsettled:
        audit.violations.append(
            Violation(
                "ledger-agrees-with-sends",
                credits.closed_at,
                f"campaign {campaign_id}: the ledger consumed {credits.consumed} credits, its sends carry "
                f"{credits.sent}",
            )
        )
