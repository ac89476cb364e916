"""What comes after a send, as an Enrollment records it: the provider's reports (delivered,
undelivered, a voicemail answered by a person), the contact's first reply, an email's first open
and first click.

`AfterTheSend` is a part of the Enrollment aggregate (domain/enrollment.py), kept in a file of its
own: its methods run on the enrollment (`EnrollmentAfterTheSend` says what of it they use) and
trigger its events. Each `record_*` returns True when it recorded an event, False when the fact
changes nothing: a report on a step that is not just sent (a repeated or late one: the first
stands), a second reply, open or click.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from domain import enrollment_events as events
from domain.enrollment_plan import EnrollmentPlan
from domain.step_status import SENT_ONES, StepStatus
from domain.steps import Step, StepType
from domain.withdrawal import REPLIED, WithdrawalCause


class EnrollmentAfterTheSend(Protocol):
    """What of an Enrollment the commands after the send read and trigger."""

    campaign_id: UUID
    plan: EnrollmentPlan
    replied_at: datetime | None
    opened_at: dict[str, datetime]
    clicked_at: dict[str, datetime]
    opted_out_at: dict[str, datetime]
    StepDelivered: type[events.StepDelivered]
    StepUndelivered: type[events.StepUndelivered]
    StepAnsweredByHuman: type[events.StepAnsweredByHuman]
    ContactReplied: type[events.ContactReplied]
    ContactOptedOut: type[events.ContactOptedOut]
    StepOpened: type[events.StepOpened]
    StepClicked: type[events.StepClicked]

    def status_of(self, step_id: str) -> StepStatus: ...

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None: ...

    def _on_step(self, event_class: Any, step: Step, **fields: Any) -> None: ...

    def withdraw(
        self,
        channels: Collection[str],
        reason: str,
        unit_costs: Mapping[StepType, int],
        withdrawn_at: datetime,
        *,
        cause: WithdrawalCause,
    ) -> list[Step]: ...


class AfterTheSend:
    """The Enrollment's commands after the send."""

    def record_delivered(
        self: EnrollmentAfterTheSend, step_id: str, detail: str, delivered_at: datetime
    ) -> bool:
        """The provider delivered a sent step; False (nothing recorded) unless the step is just sent."""
        if self.status_of(step_id) is not StepStatus.SENT:
            return False  # a repeated or late report: the first one stands
        self._on_step(self.StepDelivered, self.plan.step(step_id), detail=detail, delivered_at=delivered_at)
        return True

    def record_undelivered(
        self: EnrollmentAfterTheSend,
        step_id: str,
        reason: str,
        undelivered_at: datetime,
        hard: bool = False,
    ) -> bool:
        """The provider could not deliver a sent step (a bounce, `hard` when the address can never be
        reached); its credit stays consumed."""
        if self.status_of(step_id) is not StepStatus.SENT:
            return False
        step = self.plan.step(step_id)
        self._on_step(self.StepUndelivered, step, reason=reason, undelivered_at=undelivered_at, hard=hard)
        return True

    def record_opt_out(
        self: EnrollmentAfterTheSend, channel: str, cause: WithdrawalCause, opted_out_at: datetime
    ) -> bool:
        """The contact opted out of the channel after a send of it (its last one is the step the
        opt-out answered); False, nothing recorded, with no send on the channel or a second time."""
        sent = [s.id for s in self.plan if s.channel == channel and self.status_of(s.id) in SENT_ONES]
        if not sent or channel in self.opted_out_at:
            return False
        self.trigger_event(
            self.ContactOptedOut,
            campaign_id=self.campaign_id,
            channel=channel,
            step_id=sent[-1],
            cause=cause.value,
            opted_out_at=opted_out_at,
        )
        return True

    def record_answered_by_human(self: EnrollmentAfterTheSend, step_id: str, answered_at: datetime) -> bool:
        """A person picked up a voicemail drop: the call was hung up and nothing was played."""
        if self.status_of(step_id) is not StepStatus.SENT:
            return False
        self.trigger_event(
            self.StepAnsweredByHuman, campaign_id=self.campaign_id, step_id=step_id, answered_at=answered_at
        )
        return True

    def record_reply(
        self: EnrollmentAfterTheSend,
        channel: str,
        provider_message_id: str,
        unit_costs: Mapping[StepType, int],
        replied_at: datetime,
    ) -> bool:
        """Record the contact's first reply and withdraw its remaining steps, releasing their credits.

        A later reply changes nothing more (False). A step being attempted right now is left to its
        worker, which finds the reply right before the provider call and withdraws it there.
        """
        if self.replied_at is not None:
            return False
        sent = [s.id for s in self.plan if s.channel == channel and self.status_of(s.id) in SENT_ONES]
        self.trigger_event(
            self.ContactReplied,
            campaign_id=self.campaign_id,
            channel=channel,
            step_id=sent[-1] if sent else None,
            provider_message_id=provider_message_id,
            replied_at=replied_at,
        )
        self.withdraw(self.plan.channels(), REPLIED, unit_costs, replied_at, cause=WithdrawalCause.REPLIED)
        return True

    def record_open(self: EnrollmentAfterTheSend, step_id: str, opened_at: datetime) -> bool:
        """The open pixel of a sent step was fetched; only the first open is recorded (False after)."""
        if self.status_of(step_id) not in SENT_ONES or step_id in self.opened_at:
            return False
        self.trigger_event(
            self.StepOpened, campaign_id=self.campaign_id, step_id=step_id, opened_at=opened_at
        )
        return True

    def record_click(self: EnrollmentAfterTheSend, step_id: str, url: str, clicked_at: datetime) -> bool:
        """A link of a sent step was followed; only the step's first click is recorded (False after).

        Later clicks still redirect but add no event, so a link scanner or a forwarded mail cannot
        grow the enrollment's history without bound; the first click's URL is kept.
        """
        if self.status_of(step_id) not in SENT_ONES or step_id in self.clicked_at:
            return False
        self.trigger_event(
            self.StepClicked, campaign_id=self.campaign_id, step_id=step_id, url=url, clicked_at=clicked_at
        )
        return True
