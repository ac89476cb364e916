"""The consent audit's rules: a brand's sends replayed beside its suppressions, opt-outs, opt-ins,
quiet hours and suspensions, every send checked.

Given the brand's events in log order (its enrollments, with each contact's addresses and time zone;
their attempts and sends; its addresses' suppressions and lifts; its ledger's suspensions,
reinstatements and quiet hours), it checks each send (StepSent) against what held when the send was
attempted (its last StepAttempted, the moment the service decided to call the provider):
- no send to an address suppressed (by an entry, an unsubscribe, a STOP, a bounce) that was
  attempted after the suppression's event; a send attempted before it was at the provider already,
  and is allowed and named as a note;
- no text or call attempted outside the quiet hours in force for the brand at that log position,
  in the contact's time zone (email keeps no quiet hours);
- no send of a suspended brand attempted after its suspension (one attempted before is a note).
A lift (a START text, the brand's removal of the entry) ends a suppression, a reinstatement a
suspension. Pure: no I/O, so crafted histories test every rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.address_consent import AddressConsent
from domain.credit_ledger import CreditLedger
from domain.enrollment import Enrollment
from domain.quiet_hours import CHANNELS as QUIET_CHANNELS
from domain.quiet_hours import QuietHours
from domain.withdrawal import WithdrawalCause

CONSENT_EVENTS: tuple[type, ...] = (
    Enrollment.ContactEnrolled,
    Enrollment.StepAttempted,
    Enrollment.StepSent,
    AddressConsent.ConsentOpened,
    AddressConsent.AddressSuppressed,
    AddressConsent.SuppressionLifted,
    CreditLedger.BrandSuspended,
    CreditLedger.BrandReinstated,
    CreditLedger.QuietHoursChanged,
)


class Breach(StrEnum):
    """The kinds of violation, as the report names them."""

    SENT_AFTER_SUPPRESSION = "sent-after-suppression"
    SENT_IN_QUIET_HOURS = "sent-in-quiet-hours"
    SENT_WHILE_SUSPENDED = "sent-while-suspended"


@dataclass(frozen=True)
class Send:
    """One send as the audit saw it: where it lies in the log and what it reached."""

    position: int  # the StepSent's
    sent_at: datetime
    attempted_position: int  # the last StepAttempted's (the StepSent's own when none was recorded)
    attempted_at: datetime
    enrollment_id: UUID
    campaign_id: UUID
    contact_id: UUID | None
    step_id: str
    channel: str

    def __str__(self) -> str:
        return (
            f"{self.channel} step {self.step_id} to contact {self.contact_id} (campaign {self.campaign_id}), "
            f"attempted at log position {self.attempted_position} ({_utc(self.attempted_at)}), sent at "
            f"log position {self.position} ({_utc(self.sent_at)})"
        )


@dataclass(frozen=True)
class Violation:
    kind: Breach
    send: Send
    since: int | None  # log position of the suppression or suspension it broke
    detail: str

    @property
    def position(self) -> int:
        return self.send.position

    def __str__(self) -> str:
        return f"{self.kind} (log position {self.position}): {self.send}: {self.detail}"


@dataclass(frozen=True)
class InFlight:
    """A send attempted before a suppression or suspension and sent after it: allowed, named."""

    send: Send
    before: str  # "suppression" or "suspension"
    since: int  # its log position

    def __str__(self) -> str:
        return (
            f"{self.send}: already at the provider when the {self.before} at log position "
            f"{self.since} took effect"
        )


@dataclass
class ConsentAudit:
    sends_checked: int = 0
    quiet_hour_sends: int = 0  # texts and calls checked against quiet hours
    suppressions: int = 0  # every suppression, opt-outs included
    opt_outs: int = 0  # one-click unsubscribes and STOP texts
    lifts: int = 0  # START texts and entries the brand took off its list
    suspensions: int = 0
    hours: list[tuple[int, QuietHours]] = field(default_factory=list)  # each change: position, hours
    violations: list[Violation] = field(default_factory=list)
    in_flight: list[InFlight] = field(default_factory=list)


@dataclass(frozen=True)
class _Enrolled:
    campaign_id: UUID
    contact_id: UUID
    addresses: dict[str, str]  # channel -> what its address is matched on (keyed hash, else address)
    timezone: str


@dataclass(frozen=True)
class _Attempt:
    position: int
    at: datetime
    hours: QuietHours  # in force at that position


@dataclass
class _Log:
    """What the rules remember along the log."""

    brand_id: UUID
    ledger_id: UUID
    enrolled: dict[UUID, _Enrolled] = field(default_factory=dict)
    addresses: dict[UUID, str] = field(default_factory=dict)  # AddressConsent id -> its match key
    suppressed_since: dict[str, int] = field(default_factory=dict)  # address -> position
    suspended_since: int | None = None
    hours: QuietHours = field(default_factory=QuietHours)
    attempts: dict[tuple[UUID, str], _Attempt] = field(default_factory=dict)


def audit_consent(brand_id: UUID, events: Iterable[tuple[int, Any]]) -> ConsentAudit:
    """Replay and check; `events` are (log position, domain event) in log order. Aggregates of
    another brand are left out however they came in. Violations come in log order."""
    audit = ConsentAudit()
    seen = _Log(brand_id, CreditLedger.create_id(brand_id))
    for position, event in events:
        _apply(audit, seen, position, event)
    return audit


def _apply(audit: ConsentAudit, seen: _Log, position: int, event: Any) -> None:
    mine = _owned(seen, event)
    if isinstance(event, Enrollment.ContactEnrolled):
        if mine:
            seen.enrolled[event.originator_id] = _Enrolled(
                event.campaign_id, event.contact_id, _enrolled_keys(event), event.timezone
            )
    elif isinstance(event, AddressConsent.ConsentOpened):
        if mine:
            seen.addresses[event.originator_id] = _consent_key(event)
    elif isinstance(event, AddressConsent.AddressSuppressed):
        address = seen.addresses.get(event.originator_id)
        if address is not None:
            audit.suppressions += 1
            audit.opt_outs += WithdrawalCause(event.cause).is_unsubscribe
            seen.suppressed_since.setdefault(address, position)
    elif isinstance(event, AddressConsent.SuppressionLifted):
        address = seen.addresses.get(event.originator_id)
        if address is not None:
            audit.lifts += 1
            seen.suppressed_since.pop(address, None)
    elif isinstance(event, CreditLedger.BrandSuspended):
        if mine:
            audit.suspensions += 1
            seen.suspended_since = seen.suspended_since or position
    elif isinstance(event, CreditLedger.BrandReinstated):
        if mine:
            seen.suspended_since = None
    elif isinstance(event, CreditLedger.QuietHoursChanged):
        if mine:
            seen.hours = QuietHours(event.allowed_from, event.allowed_until)
            audit.hours.append((position, seen.hours))
    elif isinstance(event, Enrollment.StepAttempted):
        if event.originator_id in seen.enrolled:
            attempt = _Attempt(position, event.attempted_at, seen.hours)
            seen.attempts[(event.originator_id, event.step_id)] = attempt
    elif isinstance(event, Enrollment.StepSent):
        enrolled = seen.enrolled.get(event.originator_id)
        if enrolled is not None:
            _check_send(audit, seen, position, event, enrolled)


def _enrolled_keys(event: Any) -> dict[str, str]:
    """What each channel's address is matched on: the brand's keyed hash of it where the event has
    one (sealed personal data, commands/personal_data/), else the address itself."""
    hashes = getattr(event, "address_hashes", None)
    if hashes:
        return {channel: f"hash:{hashed}" for channel, hashed in hashes.items()}
    return {channel: f"address:{address}" for channel, address in event.addresses.items()}


def _consent_key(event: Any) -> str:
    hashed = getattr(event, "address_hash", None)
    return f"hash:{hashed}" if hashed else f"address:{event.address}"


def _owned(seen: _Log, event: Any) -> bool:
    """Whether the event belongs to the audited brand: its aggregate's opening event names the
    brand; a ledger is the brand's by its id."""
    if isinstance(event, Enrollment.ContactEnrolled | AddressConsent.ConsentOpened):
        return bool(event.brand_id == seen.brand_id)
    return bool(event.originator_id == seen.ledger_id)


def _check_send(audit: ConsentAudit, seen: _Log, position: int, event: Any, enrolled: _Enrolled) -> None:
    attempt = seen.attempts.pop((event.originator_id, event.step_id), None) or _Attempt(
        position, event.sent_at, seen.hours
    )
    send = Send(
        position,
        event.sent_at,
        attempt.position,
        attempt.at,
        event.originator_id,
        event.campaign_id,
        enrolled.contact_id,
        event.step_id,
        event.channel,
    )
    audit.sends_checked += 1
    address = enrolled.addresses.get(event.channel)
    suppressed = seen.suppressed_since.get(address) if address is not None else None
    if suppressed is not None:
        if attempt.position > suppressed:
            detail = f"its address was suppressed at log position {suppressed}"
            audit.violations.append(Violation(Breach.SENT_AFTER_SUPPRESSION, send, suppressed, detail))
        else:
            audit.in_flight.append(InFlight(send, "suppression", suppressed))
    if event.channel in QUIET_CHANNELS:
        audit.quiet_hour_sends += 1
        hours = attempt.hours
        if not hours.allows(attempt.at, enrolled.timezone):
            local = attempt.at.astimezone(ZoneInfo(enrolled.timezone))
            detail = (
                f"attempted at {local:%H:%M} in the contact's time zone {enrolled.timezone}, outside "
                f"the brand's hours {hours.allowed_from}-{hours.allowed_until}"
            )
            audit.violations.append(Violation(Breach.SENT_IN_QUIET_HOURS, send, None, detail))
    suspended = seen.suspended_since
    if suspended is not None:
        if attempt.position > suspended:
            detail = f"the brand was suspended at log position {suspended}"
            audit.violations.append(Violation(Breach.SENT_WHILE_SUSPENDED, send, suspended, detail))
        else:
            audit.in_flight.append(InFlight(send, "suspension", suspended))


def _utc(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
