"""The Enrollment aggregate: one contact's progress through one campaign's steps.

Its events are the StepExecutions: the enrolment schedules the first group (an enrolment before
version 3 of ContactEnrolled left that to a GroupScheduled of its own), a group becomes due, its
steps are dispatched, attempted,
sent or failed (or cancelled by a pause, deferred when no sender has quota or the provider asks
to retry, or withdrawn for good when the address is suppressed), then the next group is
scheduled. A step is sent at most once: once it has an outcome it is never dispatched again, and
a step attempted before is reconciled with the provider before any new call. After the send come
the provider's reports, the contact's reply, and an email's first open and first click.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import DomainError
from domain.event_time import TimedAggregate
from domain.schedule import group_due_at
from domain.sending_window import SendingWindow
from domain.steps import Step, StepType


class StepStatus(StrEnum):
    """Where one step of an enrollment stands; rebuilt from the events, never stored in them."""

    PENDING = "pending"  # not dispatched yet, or deferred back to wait
    DISPATCHED = "dispatched"  # handed to a channel worker
    ATTEMPTED = "attempted"  # a provider call was (about to be) made under the step's key
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # a dispatch taken back (the campaign was paused); may be dispatched again
    WITHDRAWN = "withdrawn"  # ended for good unsent (the address was suppressed, or the contact replied)
    DELIVERED = "delivered"  # sent, and the provider reported it delivered (a voicemail: played to a machine)
    UNDELIVERED = "undelivered"  # sent, and the provider reported it could not deliver it (a bounce)
    ANSWERED_BY_HUMAN = "answered_by_human"  # a voicemail drop a person picked up: hung up, nothing played
    # Opens and clicks are not statuses: they are facts beside the status (StepOpened, StepClicked),
    # so a delivery report arriving after an open still lands.


DELIVERY_REPORTS = frozenset({StepStatus.DELIVERED, StepStatus.UNDELIVERED, StepStatus.ANSWERED_BY_HUMAN})
FINAL = frozenset({StepStatus.SENT, StepStatus.FAILED, StepStatus.WITHDRAWN}) | DELIVERY_REPORTS
REPLIED = "the contact replied"  # the reason of the steps a reply withdraws
# How the contact's own opt-outs are worded in the suppression reason a withdrawal quotes.
ONE_CLICK_UNSUBSCRIBE = "unsubscribed (one-click"
STOP_KEYWORD = "SMS keyword"
IN_FLIGHT = frozenset({StepStatus.DISPATCHED, StepStatus.ATTEMPTED})
SENT_ONES = frozenset({StepStatus.SENT}) | DELIVERY_REPORTS  # the provider took it: it may be opened


def is_unsubscribe(reason: str) -> bool:
    """A withdrawal the contact asked for (one-click unsubscribe or a STOP text), not a bounce's,
    an operator's or a reply's."""
    return ONE_CLICK_UNSUBSCRIBE in reason or STOP_KEYWORD in reason


class Enrollment(TimedAggregate):
    """A contact enrolled in a campaign; id = uuid5(campaign, contact).

    Each event's timestamp is its own time field (`TIME_FIELD`, domain/event_time.py); a
    GroupScheduled or an EnrollmentFinished, the consequence of an outcome, shares its time (their
    `due_at` and `finished_at` are the schedule's times, which may lie ahead).
    """

    @staticmethod
    def create_id(campaign_id: UUID, contact_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"/campaigns/{campaign_id}/contacts/{contact_id}")

    class ContactEnrolled(Aggregate.Created):
        campaign_id: UUID
        brand_id: UUID
        contact_id: UUID
        addresses: dict[str, str]
        plan: list[dict[str, Any]]
        enrolled_at: datetime
        window: dict[str, Any] | None = None
        timezone: str = "UTC"
        group: int | None = None  # the first group, scheduled with the enrolment
        due_at: datetime | None = None  # when that group is due
        # The first group's sends dispatched with the enrolment, at `enrolled_at`, when it was due
        # then: one {"step_id", "channel"} each (None: a StepDispatched of its own says it, if any).
        dispatched: list[dict[str, str]] | None = None
        class_version = 4
        TIME_FIELD = "enrolled_at"

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Added `window` and `timezone`: a v1 enrollment had no sending window and ran in UTC."""
            state.setdefault("window", None)
            state.setdefault("timezone", "UTC")

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Added `group` and `due_at`, the first group's schedule: before v3 a GroupScheduled
            event followed the enrolment with it (None: that event says it)."""
            state.setdefault("group", None)
            state.setdefault("due_at", None)

        @staticmethod
        def upcast_v3_v4(state: dict[str, Any]) -> None:
            """Added `dispatched`, the first group's sends dispatched with the enrolment: before v4
            a StepDispatched event followed the enrolment for each (None: those events say it)."""
            state.setdefault("dispatched", None)

    @event(ContactEnrolled)
    def __init__(
        self,
        campaign_id: UUID,
        brand_id: UUID,
        contact_id: UUID,
        addresses: dict[str, str],
        plan: list[dict[str, Any]],
        enrolled_at: datetime,
        window: dict[str, Any] | None,
        timezone: str,
        group: int | None = None,
        due_at: datetime | None = None,
        dispatched: list[dict[str, str]] | None = None,
    ) -> None:
        self.campaign_id = campaign_id
        self.brand_id = brand_id
        self.contact_id = contact_id
        self.addresses = dict(addresses)
        self.plan = [Step.from_dict(step) for step in plan]
        self.enrolled_at = enrolled_at
        self.window = SendingWindow.from_dict(window)
        self.timezone = timezone
        self.step_status: dict[str, StepStatus] = {}
        self.sender_of: dict[str, str] = {}
        self.attempts: dict[str, int] = {}
        self.in_flight_since: dict[str, datetime] = {}  # dispatched or attempted steps, from when
        self.current_group: int | None = group
        self.due_at: datetime | None = due_at
        self.finished_at: datetime | None = None
        self.replied_at: datetime | None = None
        self.opened_at: dict[str, datetime] = {}  # the first open of each step
        self.clicked_at: dict[str, datetime] = {}  # the first click of each step
        for sent_off in dispatched or ():
            self.step_status[sent_off["step_id"]] = StepStatus.DISPATCHED
            self.in_flight_since[sent_off["step_id"]] = enrolled_at

    @classmethod
    def enroll(
        cls,
        campaign_id: UUID,
        brand_id: UUID,
        contact_id: UUID,
        addresses: dict[str, str],
        steps: list[Step],
        enrolled_at: datetime,
        window: dict[str, Any] | None = None,
        timezone: str = "UTC",
        dispatch: bool = False,
    ) -> Enrollment | None:
        """Enroll a contact in the steps it can receive; None when it can receive none.

        `window` and `timezone` are the campaign's sending window and the contact's time zone
        (the campaign's when the contact has none): due times move forward into the window. With
        `dispatch`, the first group's sends are dispatched in the same event when they are due at
        once, as `dispatch_due` would dispatch them right after.
        """
        plan = [
            step
            for step in steps
            if step.type is StepType.WAIT or (step.channel and addresses.get(step.channel))
        ]
        groups = [step.group for step in plan if step.type is not StepType.WAIT]
        if not groups:
            return None
        first = min(groups)  # nothing has an outcome yet: the first group with a send is next
        due = SendingWindow.from_dict(window).next_open(
            group_due_at(plan, first, None, enrolled_at), timezone
        )
        dispatched = None
        if dispatch and due <= enrolled_at:
            dispatched = [
                {"step_id": step.id, "channel": step.channel or ""}
                for step in plan
                if step.group == first and step.type is not StepType.WAIT
            ]
        return cls(
            campaign_id=campaign_id,
            brand_id=brand_id,
            contact_id=contact_id,
            addresses=addresses,
            plan=[step.as_dict() for step in plan],
            enrolled_at=enrolled_at,
            window=window,
            timezone=timezone,
            group=first,
            due_at=due,
            dispatched=dispatched,
        )

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def sends_in(self, group: int) -> list[Step]:
        return [s for s in self.plan if s.group == group and s.type is not StepType.WAIT]

    def status_of(self, step_id: str) -> StepStatus:
        return self.step_status.get(step_id, StepStatus.PENDING)

    class GroupScheduled(Aggregate.Event):
        campaign_id: UUID
        group: int
        due_at: datetime
        class_version = 1

    @event(GroupScheduled)
    def _group_scheduled(self, campaign_id: UUID, group: int, due_at: datetime) -> None:
        self.current_group = group
        self.due_at = due_at

    class EnrollmentFinished(Aggregate.Event):
        campaign_id: UUID
        finished_at: datetime
        class_version = 1

    @event(EnrollmentFinished)
    def _finished(self, campaign_id: UUID, finished_at: datetime) -> None:
        self.finished_at = finished_at
        self.current_group = None
        self.due_at = None

    def _schedule_next(self, previous_group: int, finished_at: datetime) -> None:
        following = self._next_group(previous_group, finished_at)
        if following is None:
            self._finished(self.campaign_id, finished_at)
        else:
            self._group_scheduled(self.campaign_id, *following)

    def _next_group(self, previous_group: int, finished_at: datetime) -> tuple[int, datetime] | None:
        """The group after `previous_group`, finished at `finished_at`, and when it is due in the
        contact's window; None when no later group has a send left (the enrollment is done)."""
        # A later group whose every send was withdrawn already has nothing left to wait for.
        later = [
            s.group
            for s in self.plan
            if s.type is not StepType.WAIT and s.group > previous_group and self.status_of(s.id) not in FINAL
        ]
        if not later:
            return None
        group = min(later)
        due = group_due_at(self.plan, group, previous_group, finished_at)
        return group, self.window.next_open(due, self.timezone)

    class StepDispatched(Aggregate.Event):
        campaign_id: UUID
        step_id: str
        channel: str
        group: int
        dispatched_at: datetime
        redispatched: bool = False  # sent again by the sweeper: its first message was lost
        class_version = 2
        TIME_FIELD = "dispatched_at"

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Added `redispatched`: every v1 dispatch was a first one."""
            state.setdefault("redispatched", False)

    def dispatch_due(self, now: datetime) -> list[Step]:
        """Dispatch the due group's steps that have no outcome and are not in flight."""
        if self.current_group is None or self.due_at is None or self.due_at > now:
            return []
        dispatched = []
        for step in self.sends_in(self.current_group):
            if self.status_of(step.id) in (StepStatus.PENDING, StepStatus.CANCELLED):
                self._dispatched(self.campaign_id, step.id, step.channel or "", step.group, now)
                dispatched.append(step)
        return dispatched

    def redispatch_stale(self, now: datetime, lease: timedelta) -> list[Step]:
        """Dispatch again the steps in flight for longer than `lease` (their message was lost).

        The lease outlasts any provider call, so nobody is still sending them; a step attempted
        before is reconciled with the provider by its key before any new call.
        """
        stale = [
            self._step(step_id)
            for step_id, since in sorted(self.in_flight_since.items())
            if since <= now - lease and self.status_of(step_id) in IN_FLIGHT
        ]
        for step in stale:
            self._dispatched(self.campaign_id, step.id, step.channel or "", step.group, now, True)
        return stale

    def redispatch_unsettled(self, now: datetime, lease: timedelta) -> list[Step]:
        """For a campaign that stopped for good: dispatch again each step attempted and still
        without an outcome (deferred after an answer that never came, or in flight past the lease),
        so that its worker asks the provider whether it was sent. Nothing new is sent: the worker
        only reconciles the steps of a campaign that is not ACTIVE."""
        unsettled = [
            self._step(step_id)
            for step_id, tries in sorted(self.attempts.items())
            if tries
            and (
                self.status_of(step_id) is StepStatus.PENDING
                or (
                    self.status_of(step_id) in IN_FLIGHT
                    and self.in_flight_since.get(step_id, now) <= now - lease
                )
            )
        ]
        for step in unsettled:
            self._dispatched(self.campaign_id, step.id, step.channel or "", step.group, now, True)
        return unsettled

    @event(StepDispatched)
    def _dispatched(
        self,
        campaign_id: UUID,
        step_id: str,
        channel: str,
        group: int,
        dispatched_at: datetime,
        redispatched: bool = False,
    ) -> None:
        self.step_status[step_id] = StepStatus.DISPATCHED
        self.in_flight_since[step_id] = dispatched_at

    class StepAttempted(Aggregate.Event):
        step_id: str
        sender_account_id: str
        message_key: str
        attempted_at: datetime
        # The campaign, so that the settlement process knows whose credit a step at a provider
        # holds without loading the enrollment; None on events recorded before version 2.
        campaign_id: UUID | None = None
        class_version = 2
        TIME_FIELD = "attempted_at"

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Added `campaign_id`: a v1 attempt named only its enrollment (None: look it up)."""
            state.setdefault("campaign_id", None)

    def attempt(self, step_id: str, sender_account_id: str, attempted_at: datetime) -> str:
        """Record that a provider call is about to be made; returns its idempotency key."""
        if self.status_of(step_id) is not StepStatus.DISPATCHED:
            raise DomainError(f"step {step_id} is {self.status_of(step_id)}, not dispatched")
        key = f"{self.id}:{step_id}"
        self._attempted(step_id, sender_account_id, key, attempted_at, self.campaign_id)
        return key

    @event(StepAttempted)
    def _attempted(
        self,
        step_id: str,
        sender_account_id: str,
        message_key: str,
        attempted_at: datetime,
        campaign_id: UUID | None = None,
    ) -> None:
        self.step_status[step_id] = StepStatus.ATTEMPTED
        self.attempts[step_id] = self.attempts.get(step_id, 0) + 1
        self.sender_of[step_id] = sender_account_id
        self.in_flight_since[step_id] = attempted_at

    class StepSent(Aggregate.Event):
        campaign_id: UUID
        step_id: str
        channel: str
        sender_account_id: str
        provider_message_id: str
        credits: int
        sent_at: datetime
        personalisation: str = "template"
        # What this send leads to when it was its group's last step to go: the next group and when
        # it is due, or the end of the enrollment (else neither).
        next_group: int | None = None
        next_due_at: datetime | None = None
        finished: bool = False
        class_version = 3
        TIME_FIELD = "sent_at"

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Added `personalisation`: every v1 text came from the template."""
            state.setdefault("personalisation", "template")

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Added `next_group`, `next_due_at` and `finished`: before v3 a GroupScheduled or an
            EnrollmentFinished event followed the send with them (None, False: that event says it)."""
            state.setdefault("next_group", None)
            state.setdefault("next_due_at", None)
            state.setdefault("finished", False)

    def record_sent(
        self,
        step_id: str,
        provider_message_id: str,
        credits: int,
        sent_at: datetime,
        personalisation: str = "template",
    ) -> None:
        """Record the provider's acceptance; `personalisation` says how the text was made
        ("template", or e.g. "model" / "template: model failed ...")."""
        if self.status_of(step_id) is not StepStatus.ATTEMPTED:
            raise DomainError(f"step {step_id} is {self.status_of(step_id)}, not attempted")
        step = self._step(step_id)
        sender = self.sender_of[step_id]
        closes_group = self._ends_group(step.group, step_id)
        next_group = self._next_group(step.group, sent_at) if closes_group else None
        self._sent(
            self.campaign_id,
            step_id,
            step.channel or "",
            sender,
            provider_message_id,
            credits,
            sent_at,
            personalisation,
            next_group[0] if next_group else None,
            next_group[1] if next_group else None,
            closes_group and next_group is None,
        )

    @event(StepSent)
    def _sent(
        self,
        campaign_id: UUID,
        step_id: str,
        channel: str,
        sender_account_id: str,
        provider_message_id: str,
        credits: int,
        sent_at: datetime,
        personalisation: str,
        next_group: int | None = None,
        next_due_at: datetime | None = None,
        finished: bool = False,
    ) -> None:
        self.step_status[step_id] = StepStatus.SENT
        self.in_flight_since.pop(step_id, None)
        if finished:
            self.finished_at, self.current_group, self.due_at = sent_at, None, None
        elif next_group is not None:
            self.current_group, self.due_at = next_group, next_due_at

    class StepFailed(Aggregate.Event):
        campaign_id: UUID
        step_id: str
        channel: str
        reason: str
        credits_released: int
        failed_at: datetime
        class_version = 1
        TIME_FIELD = "failed_at"

    def record_failed(self, step_id: str, reason: str, credits: int, failed_at: datetime) -> None:
        if self.status_of(step_id) in FINAL:
            raise DomainError(f"step {step_id} already has an outcome")
        step = self._step(step_id)
        self._failed(self.campaign_id, step_id, step.channel or "", reason, credits, failed_at)
        self._after_outcome(step.group, failed_at)

    @event(StepFailed)
    def _failed(
        self,
        campaign_id: UUID,
        step_id: str,
        channel: str,
        reason: str,
        credits_released: int,
        failed_at: datetime,
    ) -> None:
        self.step_status[step_id] = StepStatus.FAILED
        self.in_flight_since.pop(step_id, None)

    class StepDeferred(Aggregate.Event):
        campaign_id: UUID
        step_id: str
        reason: str
        due_at: datetime
        class_version = 1

    def defer(self, step_id: str, reason: str, until: datetime, deferred_at: datetime) -> datetime:
        """Put a dispatched or attempted step back, at `deferred_at`, to wait until `until` (moved
        into the window).

        Used when every sender is at its cap, or the provider answered "try again later"; the
        attempt count stays, so the next try asks the provider first whether it already sent.
        """
        if self.status_of(step_id) not in IN_FLIGHT:
            raise DomainError(
                f"step {step_id} is {self.status_of(step_id)}; only a step in flight is deferred"
            )
        due_at = self.window.next_open(until, self.timezone)
        self._deferred(self.campaign_id, step_id, reason, due_at, timestamp=deferred_at)
        return due_at

    @event(StepDeferred)
    def _deferred(
        self,
        campaign_id: UUID,
        step_id: str,
        reason: str,
        due_at: datetime,
        timestamp: datetime | None = None,
    ) -> None:
        self.step_status[step_id] = StepStatus.PENDING
        self.in_flight_since.pop(step_id, None)
        if self.due_at is None or due_at > self.due_at:
            self.due_at = due_at

    def was_attempted(self, step_id: str) -> bool:
        return self.attempts.get(step_id, 0) > 0

    class StepCancelled(Aggregate.Event):
        campaign_id: UUID
        step_id: str
        reason: str
        cancelled_at: datetime
        class_version = 1
        TIME_FIELD = "cancelled_at"

    def cancel(self, step_id: str, reason: str, cancelled_at: datetime) -> None:
        """Take back a dispatch that will not be sent now (the campaign was paused).

        An attempted step is cancelled only once the provider has said it never got it.
        """
        if self.status_of(step_id) not in IN_FLIGHT:
            raise DomainError(f"step {step_id} is {self.status_of(step_id)}, not in flight")
        self._cancelled(self.campaign_id, step_id, reason, cancelled_at)

    @event(StepCancelled)
    def _cancelled(self, campaign_id: UUID, step_id: str, reason: str, cancelled_at: datetime) -> None:
        self.step_status[step_id] = StepStatus.CANCELLED
        self.in_flight_since.pop(step_id, None)

    class StepWithdrawn(Aggregate.Event):
        campaign_id: UUID
        step_id: str
        channel: str
        reason: str
        credits_released: int
        withdrawn_at: datetime
        class_version = 1
        TIME_FIELD = "withdrawn_at"

    def withdraw(
        self,
        channels: Collection[str],
        reason: str,
        unit_costs: Mapping[StepType, int],
        withdrawn_at: datetime,
    ) -> list[Step]:
        """Withdraw for good every step on `channels` not yet sent (the address was suppressed).

        An attempted step is left to its worker, which checks consent right before calling the
        provider and withdraws it there; every other unsent step ends now and frees its credit.
        """
        if self.finished:
            return []
        steps = [
            step
            for step in self.plan
            if step.channel in channels and self.status_of(step.id) not in FINAL | {StepStatus.ATTEMPTED}
        ]
        for step in steps:
            self.withdraw_step(step.id, reason, unit_costs[step.type], withdrawn_at)
        return steps

    def withdraw_step(self, step_id: str, reason: str, credits: int, withdrawn_at: datetime) -> None:
        """End one unsent step for good, releasing its credit; the schedule moves on without it."""
        if self.status_of(step_id) in FINAL:
            raise DomainError(f"step {step_id} already has an outcome")
        step = self._step(step_id)
        self._withdrawn(self.campaign_id, step_id, step.channel or "", reason, credits, withdrawn_at)
        # A group withdrawn before it was due is "finished" at its due time, not earlier.
        due = self.due_at if self.due_at is not None and self.due_at > withdrawn_at else withdrawn_at
        self._after_outcome(step.group, due)

    @event(StepWithdrawn)
    def _withdrawn(
        self,
        campaign_id: UUID,
        step_id: str,
        channel: str,
        reason: str,
        credits_released: int,
        withdrawn_at: datetime,
    ) -> None:
        self.step_status[step_id] = StepStatus.WITHDRAWN
        self.in_flight_since.pop(step_id, None)

    def _step(self, step_id: str) -> Step:
        for step in self.plan:
            if step.id == step_id:
                return step
        raise DomainError(f"step {step_id} is not in this enrollment's plan")

    def _after_outcome(self, group: int, at: datetime) -> None:
        if self._ends_group(group):
            self._schedule_next(group, at)

    def _ends_group(self, group: int, settling: str | None = None) -> bool:
        """Whether the current group has no send left to go (`settling`: a step whose outcome is
        being recorded counts as done). An outcome outside the current group moves nothing."""
        return group == self.current_group and all(
            s.id == settling or self.status_of(s.id) in FINAL for s in self.sends_in(group)
        )

    class StepDelivered(Aggregate.Event):
        campaign_id: UUID
        step_id: str
        channel: str
        detail: str  # what the provider reported, e.g. "delivered" or "played to an answering machine"
        delivered_at: datetime
        class_version = 1
        TIME_FIELD = "delivered_at"

    def record_delivered(self, step_id: str, detail: str, delivered_at: datetime) -> bool:
        """The provider delivered a sent step; False (nothing recorded) unless the step is just sent."""
        if self.status_of(step_id) is not StepStatus.SENT:
            return False  # a repeated or late report: the first one stands
        step = self._step(step_id)
        self._delivered(self.campaign_id, step_id, step.channel or "", detail, delivered_at)
        return True

    @event(StepDelivered)
    def _delivered(
        self, campaign_id: UUID, step_id: str, channel: str, detail: str, delivered_at: datetime
    ) -> None:
        self.step_status[step_id] = StepStatus.DELIVERED

    class StepUndelivered(Aggregate.Event):
        campaign_id: UUID
        step_id: str
        channel: str
        reason: str  # the provider's word, e.g. "undelivered: 30003 unreachable handset"
        undelivered_at: datetime
        class_version = 1
        TIME_FIELD = "undelivered_at"

    def record_undelivered(self, step_id: str, reason: str, undelivered_at: datetime) -> bool:
        """The provider could not deliver a sent step (a bounce); its credit stays consumed."""
        if self.status_of(step_id) is not StepStatus.SENT:
            return False
        step = self._step(step_id)
        self._undelivered(self.campaign_id, step_id, step.channel or "", reason, undelivered_at)
        return True

    @event(StepUndelivered)
    def _undelivered(
        self, campaign_id: UUID, step_id: str, channel: str, reason: str, undelivered_at: datetime
    ) -> None:
        self.step_status[step_id] = StepStatus.UNDELIVERED

    class StepAnsweredByHuman(Aggregate.Event):
        campaign_id: UUID
        step_id: str
        answered_at: datetime
        class_version = 1
        TIME_FIELD = "answered_at"

    def record_answered_by_human(self, step_id: str, answered_at: datetime) -> bool:
        """A person picked up a voicemail drop: the call was hung up and nothing was played."""
        if self.status_of(step_id) is not StepStatus.SENT:
            return False
        self._answered_by_human(self.campaign_id, step_id, answered_at)
        return True

    @event(StepAnsweredByHuman)
    def _answered_by_human(self, campaign_id: UUID, step_id: str, answered_at: datetime) -> None:
        self.step_status[step_id] = StepStatus.ANSWERED_BY_HUMAN

    class ContactReplied(Aggregate.Event):
        campaign_id: UUID
        channel: str
        step_id: str | None  # the last step sent on that channel, if any: the one answered
        provider_message_id: str  # the provider's id of the reply itself
        replied_at: datetime
        class_version = 1
        TIME_FIELD = "replied_at"

    def record_reply(
        self,
        channel: str,
        provider_message_id: str,
        unit_costs: Mapping[StepType, int],
        replied_at: datetime,
    ) -> list[Step]:
        """Record the contact's first reply and withdraw its remaining steps, releasing their credits.

        A later reply changes nothing more. A step being attempted right now is left to its worker,
        which finds the reply right before the provider call and withdraws it there.
        """
        if self.replied_at is not None:
            return []
        sent = [s.id for s in self.plan if s.channel == channel and self.status_of(s.id) in SENT_ONES]
        answered = sent[-1] if sent else None
        self._replied(self.campaign_id, channel, answered, provider_message_id, replied_at)
        if self.finished:
            return []
        channels = {s.channel for s in self.plan if s.channel}
        return self.withdraw(channels, REPLIED, unit_costs, replied_at)

    @event(ContactReplied)
    def _replied(
        self,
        campaign_id: UUID,
        channel: str,
        step_id: str | None,
        provider_message_id: str,
        replied_at: datetime,
    ) -> None:
        self.replied_at = replied_at

    class StepOpened(Aggregate.Event):
        campaign_id: UUID
        step_id: str
        opened_at: datetime
        class_version = 1
        TIME_FIELD = "opened_at"

    def record_open(self, step_id: str, opened_at: datetime) -> bool:
        """The open pixel of a sent step was fetched; only the first open is recorded (False after)."""
        if self.status_of(step_id) not in SENT_ONES or step_id in self.opened_at:
            return False
        self._opened(self.campaign_id, step_id, opened_at)
        return True

    @event(StepOpened)
    def _opened(self, campaign_id: UUID, step_id: str, opened_at: datetime) -> None:
        self.opened_at[step_id] = opened_at

    class StepClicked(Aggregate.Event):
        campaign_id: UUID
        step_id: str
        url: str  # the link of the step's body the contact followed
        clicked_at: datetime
        class_version = 1
        TIME_FIELD = "clicked_at"

    def record_click(self, step_id: str, url: str, clicked_at: datetime) -> bool:
        """A link of a sent step was followed; only the step's first click is recorded (False after).

        Later clicks still redirect but add no event, so a link scanner or a forwarded mail cannot
        grow the enrollment's history without bound; the first click's URL is kept.
        """
        if self.status_of(step_id) not in SENT_ONES or step_id in self.clicked_at:
            return False
        self._clicked(self.campaign_id, step_id, url, clicked_at)
        return True

    @event(StepClicked)
    def _clicked(self, campaign_id: UUID, step_id: str, url: str, clicked_at: datetime) -> None:
        self.clicked_at[step_id] = clicked_at


def dispatched_steps(event: Any) -> list[tuple[str, str]]:
    """The (step id, channel) of each step an event dispatches: a StepDispatched's own, or the first
    group's an enrolment dispatched with it (ContactEnrolled v4); none for any other event."""
    if isinstance(event, Enrollment.StepDispatched):
        return [(event.step_id, event.channel)]
    if isinstance(event, Enrollment.ContactEnrolled):
        return [(sent_off["step_id"], sent_off["channel"]) for sent_off in event.dispatched or ()]
    return []
