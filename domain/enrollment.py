"""The Enrollment aggregate: one contact's progress through one campaign's steps.

Its events are the StepExecutions (domain/enrollment_events.py): the enrolment schedules the
first group, a group becomes due, its steps are dispatched, attempted, sent or failed (or
cancelled by a pause, deferred when no sender has quota or the provider asks to retry, or
withdrawn for good, with a `WithdrawalCause`, when the address is suppressed or the contact
replied), then the next group is scheduled. A step is sent at most once: once it has an outcome
it is never dispatched again, and a step attempted before is reconciled with the provider before
any new call. After the send come the provider's reports, the contact's reply, and an email's
first open and first click (domain/enrollment_after_send.py). The plan is an `EnrollmentPlan`
(domain/enrollment_plan.py).

One convention for the facts reported from outside, the `record_*` methods: each returns True
when it recorded an event and False when the fact changes nothing (a report on a step that is
not just sent, a second reply, open or click); a fact the state contradicts (an outcome for a
step that is not attempted, or already has one) raises DomainError. The commands trigger each
event with every field by name; what an event changes in the state is its own `apply`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain import enrollment_events as events
from domain.enrollment_after_send import AfterTheSend
from domain.enrollment_plan import DispatchedStep, EnrollmentPlan, StepRef
from domain.errors import DomainError
from domain.event_time import TimedAggregate
from domain.message_key import message_key
from domain.sending_window import SendingWindow
from domain.step_status import DELIVERY_REPORTS, FINAL, IN_FLIGHT, SENT_ONES, StepStatus
from domain.steps import Step, StepData, StepType
from domain.withdrawal import REPLIED, WithdrawalCause

__all__ = [
    "DELIVERY_REPORTS",
    "FINAL",
    "IN_FLIGHT",
    "REPLIED",
    "SENT_ONES",
    "Enrollment",
    "EnrollmentPlan",
    "StepRef",
    "StepStatus",
    "WithdrawalCause",
    "dispatched_steps",
]


class Enrollment(TimedAggregate, AfterTheSend):
    """A contact enrolled in a campaign; id = uuid5(campaign, contact).

    Each event's timestamp is its own time field (`TIME_FIELD`, domain/event_time.py); a
    GroupScheduled or an EnrollmentFinished, the consequence of an outcome, shares its time (their
    `due_at` and `finished_at` are the schedule's times, which may lie ahead).
    """

    # The events, under the names (and so the stored topics) they have always had.
    ContactEnrolled = events.ContactEnrolled
    GroupScheduled = events.GroupScheduled
    EnrollmentFinished = events.EnrollmentFinished
    StepDispatched = events.StepDispatched
    StepAttempted = events.StepAttempted
    StepSent = events.StepSent
    StepFailed = events.StepFailed
    StepDeferred = events.StepDeferred
    StepCancelled = events.StepCancelled
    StepWithdrawn = events.StepWithdrawn
    StepDelivered = events.StepDelivered
    StepUndelivered = events.StepUndelivered
    StepAnsweredByHuman = events.StepAnsweredByHuman
    ContactReplied = events.ContactReplied
    ContactOptedOut = events.ContactOptedOut
    StepOpened = events.StepOpened
    StepClicked = events.StepClicked

    @staticmethod
    def create_id(campaign_id: UUID, contact_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"/campaigns/{campaign_id}/contacts/{contact_id}")

    @event(ContactEnrolled)
    def __init__(
        self,
        campaign_id: UUID,
        brand_id: UUID,
        contact_id: UUID,
        addresses: dict[str, str],
        plan: list[StepData],
        enrolled_at: datetime,
        window: dict[str, Any] | None,
        timezone: str,
        group: int | None = None,
        due_at: datetime | None = None,
        dispatched: list[DispatchedStep] | None = None,
        address_hashes: dict[str, str] | None = None,
    ) -> None:
        self.campaign_id = campaign_id
        self.brand_id = brand_id
        self.contact_id = contact_id
        self.addresses = dict(addresses)  # opened by the store; `erased` once the contact is erased
        self.address_hashes = dict(address_hashes or {})  # channel -> the brand's keyed hash
        self.plan = EnrollmentPlan.from_stored(plan)
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
        self.opted_out_at: dict[str, datetime] = {}  # channel -> when the contact opted out
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
        plan = EnrollmentPlan.for_contact(steps, addresses)
        first = plan.first_group()  # nothing has an outcome yet: the first group with a send is next
        if first is None:
            return None
        due = SendingWindow.from_dict(window).next_open(plan.due_at(first, None, enrolled_at), timezone)
        dispatched = None
        if dispatch and due <= enrolled_at:
            refs = [StepRef.of(step) for step in plan.sends_in(first)]
            dispatched = [DispatchedStep(step_id=ref.step_id, channel=ref.channel) for ref in refs]
        return cls(
            campaign_id=campaign_id,
            brand_id=brand_id,
            contact_id=contact_id,
            addresses=addresses,
            plan=plan.stored(),
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
        return self.plan.sends_in(group)

    def status_of(self, step_id: str) -> StepStatus:
        return self.step_status.get(step_id, StepStatus.PENDING)

    def was_attempted(self, step_id: str) -> bool:
        return self.attempts.get(step_id, 0) > 0

    # Scheduling: each group follows the one before it, the enrollment ends after the last.

    def _after_outcome(self, group: int, at: datetime) -> None:
        if not self._ends_group(group):
            return
        following = self._next_group(group, at)
        if following is None:
            self.trigger_event(self.EnrollmentFinished, campaign_id=self.campaign_id, finished_at=at)
        else:
            group, due_at = following
            self.trigger_event(self.GroupScheduled, campaign_id=self.campaign_id, group=group, due_at=due_at)

    def _next_group(self, previous_group: int, finished_at: datetime) -> tuple[int, datetime] | None:
        """The group after `previous_group`, finished at `finished_at`, and when it is due in the
        contact's window; None when no later group has a send left (the enrollment is done)."""
        # A later group whose every send was withdrawn already has nothing left to wait for.
        later = [
            s.group
            for s in self.plan.sends()
            if s.group > previous_group and self.status_of(s.id) not in FINAL
        ]
        if not later:
            return None
        group = min(later)
        due = self.plan.due_at(group, previous_group, finished_at)
        return group, self.window.next_open(due, self.timezone)

    def _on_step(self, event_class: type[Enrollment.Event], step: Step, **fields: Any) -> None:
        """Trigger an event of one step that names its campaign, the step and the step's channel."""
        channel = StepRef.of(step).channel
        self.trigger_event(
            event_class, campaign_id=self.campaign_id, step_id=step.id, channel=channel, **fields
        )

    def _ends_group(self, group: int, settling: str | None = None) -> bool:
        """Whether the current group has no send left to go (`settling`: a step whose outcome is
        being recorded counts as done). An outcome outside the current group moves nothing."""
        return group == self.current_group and all(
            s.id == settling or self.status_of(s.id) in FINAL for s in self.sends_in(group)
        )

    # Sending: dispatched to a channel worker, attempted at a provider, then sent or failed.

    def dispatch_due(self, now: datetime) -> list[Step]:
        """Dispatch the due group's steps that have no outcome and are not in flight."""
        if self.current_group is None or self.due_at is None or self.due_at > now:
            return []
        dispatched = []
        for step in self.sends_in(self.current_group):
            if self.status_of(step.id) in (StepStatus.PENDING, StepStatus.CANCELLED):
                self._dispatch(step, now)
                dispatched.append(step)
        return dispatched

    def redispatch_stale(self, now: datetime, lease: timedelta) -> list[Step]:
        """Dispatch again the steps in flight for longer than `lease` (their message was lost).

        The lease outlasts any provider call, so nobody is still sending them; a step attempted
        before is reconciled with the provider by its key before any new call.
        """
        stale = [
            self.plan.step(step_id)
            for step_id, since in sorted(self.in_flight_since.items())
            if since <= now - lease and self.status_of(step_id) in IN_FLIGHT
        ]
        for step in stale:
            self._dispatch(step, now, redispatched=True)
        return stale

    def redispatch_unsettled(self, now: datetime, lease: timedelta) -> list[Step]:
        """For a campaign that stopped for good: dispatch again each step attempted and still
        without an outcome (deferred after an answer that never came, or in flight past the lease),
        so that its worker asks the provider whether it was sent. Nothing new is sent: the worker
        only reconciles the steps of a campaign that is not ACTIVE."""
        unsettled = [
            self.plan.step(step_id)
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
            self._dispatch(step, now, redispatched=True)
        return unsettled

    def _dispatch(self, step: Step, now: datetime, redispatched: bool = False) -> None:
        self._on_step(
            self.StepDispatched, step, group=step.group, dispatched_at=now, redispatched=redispatched
        )

    def attempt(self, step_id: str, sender_account_id: str, attempted_at: datetime) -> str:
        """Record that a provider call is about to be made; returns its idempotency key."""
        if self.status_of(step_id) is not StepStatus.DISPATCHED:
            raise DomainError(f"step {step_id} is {self.status_of(step_id)}, not dispatched")
        key = message_key(self.id, step_id)
        self.trigger_event(
            self.StepAttempted,
            step_id=step_id,
            sender_account_id=sender_account_id,
            message_key=key,
            attempted_at=attempted_at,
            campaign_id=self.campaign_id,
        )
        return key

    def record_sent(
        self,
        step_id: str,
        provider_message_id: str,
        credits: int,
        sent_at: datetime,
        personalisation: str = "template",
    ) -> bool:
        """Record the provider's acceptance of an attempted step (True); `personalisation` says how
        the text was made ("template", or e.g. "model" / "template: model failed ...")."""
        if self.status_of(step_id) is not StepStatus.ATTEMPTED:
            raise DomainError(f"step {step_id} is {self.status_of(step_id)}, not attempted")
        step = self.plan.step(step_id)
        closes_group = self._ends_group(step.group, step_id)
        following = self._next_group(step.group, sent_at) if closes_group else None
        self._on_step(
            self.StepSent,
            step,
            sender_account_id=self.sender_of[step_id],
            provider_message_id=provider_message_id,
            credits=credits,
            sent_at=sent_at,
            personalisation=personalisation,
            next_group=following[0] if following else None,
            next_due_at=following[1] if following else None,
            finished=closes_group and following is None,
        )
        return True

    def record_failed(self, step_id: str, reason: str, credits: int, failed_at: datetime) -> bool:
        """Record that a step will never be sent (True), releasing its credit."""
        if self.status_of(step_id) in FINAL:
            raise DomainError(f"step {step_id} already has an outcome")
        step = self.plan.step(step_id)
        self._on_step(self.StepFailed, step, reason=reason, credits_released=credits, failed_at=failed_at)
        self._after_outcome(step.group, failed_at)
        return True

    # Taken back: deferred to wait, cancelled by a pause, or withdrawn for good.

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
        fields = {"reason": reason, "due_at": due_at, "timestamp": deferred_at}
        self.trigger_event(self.StepDeferred, campaign_id=self.campaign_id, step_id=step_id, **fields)
        return due_at

    def cancel(self, step_id: str, reason: str, cancelled_at: datetime) -> None:
        """Take back a dispatch that will not be sent now (the campaign was paused).

        An attempted step is cancelled only once the provider has said it never got it.
        """
        if self.status_of(step_id) not in IN_FLIGHT:
            raise DomainError(f"step {step_id} is {self.status_of(step_id)}, not in flight")
        fields = {"reason": reason, "cancelled_at": cancelled_at}
        self.trigger_event(self.StepCancelled, campaign_id=self.campaign_id, step_id=step_id, **fields)

    def withdraw(
        self,
        channels: Collection[str],
        reason: str,
        unit_costs: Mapping[StepType, int],
        withdrawn_at: datetime,
        *,
        cause: WithdrawalCause,
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
            self.withdraw_step(step.id, reason, unit_costs[step.type], withdrawn_at, cause=cause)
        return steps

    def withdraw_step(
        self, step_id: str, reason: str, credits: int, withdrawn_at: datetime, *, cause: WithdrawalCause
    ) -> None:
        """End one unsent step for good, releasing its credit; the schedule moves on without it.
        `reason` is the words shown to clients, `cause` what they mean."""
        if self.status_of(step_id) in FINAL:
            raise DomainError(f"step {step_id} already has an outcome")
        step = self.plan.step(step_id)
        fields = {"reason": reason, "credits_released": credits, "withdrawn_at": withdrawn_at}
        self._on_step(self.StepWithdrawn, step, **fields, cause=WithdrawalCause(cause).value)
        # A group withdrawn before it was due is "finished" at its due time, not earlier.
        due = self.due_at if self.due_at is not None and self.due_at > withdrawn_at else withdrawn_at
        self._after_outcome(step.group, due)


def dispatched_steps(event: Any) -> list[StepRef]:
    """The step and channel of each step an event dispatches: a StepDispatched's own, or the first
    group's an enrolment dispatched with it (ContactEnrolled v4); none for any other event."""
    if isinstance(event, Enrollment.StepDispatched):
        return [StepRef(event.step_id, event.channel)]
    if isinstance(event, Enrollment.ContactEnrolled):
        return [StepRef(sent_off["step_id"], sent_off["channel"]) for sent_off in event.dispatched or ()]
    return []
