"""The events of an Enrollment, the StepExecutions: their fields, versions, upcasters, and what
each changes in an enrollment's state (`apply`).

The Enrollment aggregate (domain/enrollment.py) takes these classes in under the same names, and
the library derives from each the class it stores, so the stored topic stays
`domain.enrollment:Enrollment.<Name>`, the topic of every event written before the classes moved
here. `TIME_FIELD` names the field that is the event's own time (domain/event_time.py). Payloads
are typed: a plan is a list of `StepData`, the sends dispatched with an enrolment are
`DispatchedStep`s, a withdrawal's cause is a `WithdrawalCause` value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.enrollment_plan import DispatchedStep
from domain.step_status import StepStatus
from domain.steps import StepData
from domain.withdrawal import WithdrawalCause


class EnrollmentState(Protocol):
    """The state of an Enrollment its events change (the aggregate's attributes)."""

    step_status: dict[str, StepStatus]
    sender_of: dict[str, str]
    attempts: dict[str, int]
    in_flight_since: dict[str, datetime]  # dispatched or attempted steps, from when
    current_group: int | None
    due_at: datetime | None
    finished_at: datetime | None
    replied_at: datetime | None
    opened_at: dict[str, datetime]  # the first open of each step
    clicked_at: dict[str, datetime]  # the first click of each step
    opted_out_at: dict[str, datetime]  # channel -> when the contact opted out of it


class ContactEnrolled(Aggregate.Created):
    campaign_id: UUID
    brand_id: UUID
    contact_id: UUID
    addresses: dict[str, str]
    plan: list[StepData]
    enrolled_at: datetime
    window: dict[str, Any] | None = None  # the campaign's sending window, as the campaign stores it
    timezone: str = "UTC"
    group: int | None = None  # the first group, scheduled with the enrolment
    due_at: datetime | None = None  # when that group is due
    # The first group's sends dispatched with the enrolment, at `enrolled_at`, when it was due
    # then (None: a StepDispatched of its own says it, if any).
    dispatched: list[DispatchedStep] | None = None
    # The brand's keyed hash of each channel's address (commands/personal_data/sealing.py), which
    # the store writes beside the sealed addresses; None where no hash was written (before v5, or
    # without a key configured): the store then computes it from the address when it reads one.
    address_hashes: dict[str, str] | None = None
    class_version = 5
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

    @staticmethod
    def upcast_v4_v5(state: dict[str, Any]) -> None:
        """Added `address_hashes`, and the addresses are stored sealed with the contact's key: a
        v4 enrolment kept its addresses in plain text and no hash (None: computed when read)."""
        state.setdefault("address_hashes", None)


class GroupScheduled(Aggregate.Event):
    campaign_id: UUID
    group: int
    due_at: datetime
    class_version = 1

    def apply(self, aggregate: EnrollmentState) -> None:
        aggregate.current_group, aggregate.due_at = self.group, self.due_at


class EnrollmentFinished(Aggregate.Event):
    campaign_id: UUID
    finished_at: datetime
    class_version = 1

    def apply(self, aggregate: EnrollmentState) -> None:
        aggregate.finished_at, aggregate.current_group, aggregate.due_at = self.finished_at, None, None


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

    def apply(self, aggregate: EnrollmentState) -> None:
        aggregate.step_status[self.step_id] = StepStatus.DISPATCHED
        aggregate.in_flight_since[self.step_id] = self.dispatched_at


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

    def apply(self, aggregate: EnrollmentState) -> None:
        aggregate.step_status[self.step_id] = StepStatus.ATTEMPTED
        aggregate.attempts[self.step_id] = aggregate.attempts.get(self.step_id, 0) + 1
        aggregate.sender_of[self.step_id] = self.sender_account_id
        aggregate.in_flight_since[self.step_id] = self.attempted_at


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

    def apply(self, aggregate: EnrollmentState) -> None:
        aggregate.step_status[self.step_id] = StepStatus.SENT
        aggregate.in_flight_since.pop(self.step_id, None)
        if self.finished:
            aggregate.finished_at, aggregate.current_group, aggregate.due_at = self.sent_at, None, None
        elif self.next_group is not None:
            aggregate.current_group, aggregate.due_at = self.next_group, self.next_due_at


class StepFailed(Aggregate.Event):
    campaign_id: UUID
    step_id: str
    channel: str
    reason: str
    credits_released: int
    failed_at: datetime
    class_version = 1
    TIME_FIELD = "failed_at"

    def apply(self, aggregate: EnrollmentState) -> None:
        aggregate.step_status[self.step_id] = StepStatus.FAILED
        aggregate.in_flight_since.pop(self.step_id, None)


class StepDeferred(Aggregate.Event):
    campaign_id: UUID
    step_id: str
    reason: str
    due_at: datetime
    class_version = 1

    def apply(self, aggregate: EnrollmentState) -> None:
        aggregate.step_status[self.step_id] = StepStatus.PENDING
        aggregate.in_flight_since.pop(self.step_id, None)
        if aggregate.due_at is None or self.due_at > aggregate.due_at:
            aggregate.due_at = self.due_at


class StepCancelled(Aggregate.Event):
    campaign_id: UUID
    step_id: str
    reason: str
    cancelled_at: datetime
    class_version = 1
    TIME_FIELD = "cancelled_at"

    def apply(self, aggregate: EnrollmentState) -> None:
        aggregate.step_status[self.step_id] = StepStatus.CANCELLED
        aggregate.in_flight_since.pop(self.step_id, None)


class StepWithdrawn(Aggregate.Event):
    campaign_id: UUID
    step_id: str
    channel: str
    reason: str  # the words shown to clients, e.g. "address suppressed: hard bounce: 550 ..."
    credits_released: int
    withdrawn_at: datetime
    cause: str  # a WithdrawalCause value: why, for the rules and the metrics (`withdrawal_cause`)
    class_version = 2
    TIME_FIELD = "withdrawn_at"

    @property
    def withdrawal_cause(self) -> WithdrawalCause:
        return WithdrawalCause(self.cause)

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Added `cause`, read from the words of `reason`: "replied" for a reply, "unsubscribed"
        for a one-click unsubscribe, "stop_keyword" for a STOP text, else "suppressed"."""
        state.setdefault("cause", WithdrawalCause.of_words(state["reason"]).value)

    def apply(self, aggregate: EnrollmentState) -> None:
        aggregate.step_status[self.step_id] = StepStatus.WITHDRAWN
        aggregate.in_flight_since.pop(self.step_id, None)


class StepDelivered(Aggregate.Event):
    campaign_id: UUID
    step_id: str
    channel: str
    detail: str  # what the provider reported, e.g. "delivered" or "played to an answering machine"
    delivered_at: datetime
    class_version = 1
    TIME_FIELD = "delivered_at"

    def apply(self, aggregate: EnrollmentState) -> None:
        aggregate.step_status[self.step_id] = StepStatus.DELIVERED


class StepUndelivered(Aggregate.Event):
    campaign_id: UUID
    step_id: str
    channel: str
    reason: str  # the provider's word, e.g. "undelivered: 30003 unreachable handset"
    undelivered_at: datetime
    hard: bool = False  # a hard bounce: the address can never be reached (it is suppressed)
    class_version = 2
    TIME_FIELD = "undelivered_at"

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Added `hard`: every v1 email was undelivered by a Gmail hard bounce (which suppressed
        the address); no v1 text or call was taken for a hard bounce."""
        state.setdefault("hard", state["channel"] == "email")

    def apply(self, aggregate: EnrollmentState) -> None:
        aggregate.step_status[self.step_id] = StepStatus.UNDELIVERED


class StepAnsweredByHuman(Aggregate.Event):
    campaign_id: UUID
    step_id: str
    answered_at: datetime
    class_version = 1
    TIME_FIELD = "answered_at"

    def apply(self, aggregate: EnrollmentState) -> None:
        aggregate.step_status[self.step_id] = StepStatus.ANSWERED_BY_HUMAN


class ContactReplied(Aggregate.Event):
    campaign_id: UUID
    channel: str
    step_id: str | None  # the last step sent on that channel, if any: the one answered
    provider_message_id: str  # the provider's id of the reply itself
    replied_at: datetime
    class_version = 1
    TIME_FIELD = "replied_at"

    def apply(self, aggregate: EnrollmentState) -> None:
        aggregate.replied_at = self.replied_at


class ContactOptedOut(Aggregate.Event):
    """The contact opted out (a one-click unsubscribe, a STOP text) after a send of this campaign:
    the deliverability guard counts it against that send (decision record 0024)."""

    campaign_id: UUID
    channel: str
    step_id: str  # the last step sent on that channel: the send the opt-out answered
    cause: str  # a WithdrawalCause value: "unsubscribed" or "stop_keyword"
    opted_out_at: datetime
    class_version = 1
    TIME_FIELD = "opted_out_at"

    def apply(self, aggregate: EnrollmentState) -> None:
        aggregate.opted_out_at[self.channel] = self.opted_out_at


class StepOpened(Aggregate.Event):
    campaign_id: UUID
    step_id: str
    opened_at: datetime
    class_version = 1
    TIME_FIELD = "opened_at"

    def apply(self, aggregate: EnrollmentState) -> None:
        aggregate.opened_at[self.step_id] = self.opened_at


class StepClicked(Aggregate.Event):
    campaign_id: UUID
    step_id: str
    url: str  # the link of the step's body the contact followed
    clicked_at: datetime
    class_version = 1
    TIME_FIELD = "clicked_at"

    def apply(self, aggregate: EnrollmentState) -> None:
        aggregate.clicked_at[self.step_id] = self.clicked_at
