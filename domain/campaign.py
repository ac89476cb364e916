"""The Campaign aggregate: its definition (audience, steps) and its lifecycle from DRAFT to ARCHIVED."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventsourcing.domain import Aggregate, event

from domain.deliverability import Breach
from domain.errors import DomainError, IllegalTransition, InvalidCampaign
from domain.event_time import TimedAggregate
from domain.limits import MAX_LEAD_GROUPS, MAX_NAME, text_problem
from domain.sending_window import SendingWindow
from domain.steps import Step, ordered, validate_steps


class PausedBy(StrEnum):
    USER = "user"
    DELIVERABILITY_GUARD = "deliverability guard"


@dataclass(frozen=True)
class Pause:
    by: PausedBy
    reason: str | None
    at: datetime


class CampaignStatus(StrEnum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    ARCHIVED = "ARCHIVED"


_ALLOWED = {
    "launch": {CampaignStatus.DRAFT},
    "pause": {CampaignStatus.ACTIVE},
    "resume": {CampaignStatus.PAUSED},
    "complete": {CampaignStatus.ACTIVE},
    "archive": {
        CampaignStatus.DRAFT,
        CampaignStatus.ACTIVE,
        CampaignStatus.PAUSED,
        CampaignStatus.COMPLETED,
    },
}


def _check_definition(name: str, audience_type: str, lead_group_ids: list[str]) -> None:
    if not 1 <= len(name) <= MAX_NAME:
        raise InvalidCampaign(f"a campaign name has 1 to {MAX_NAME} characters")
    if len(lead_group_ids) > MAX_LEAD_GROUPS:
        raise InvalidCampaign(f"a campaign has at most {MAX_LEAD_GROUPS} lead groups")
    for field, text in (("name", name), ("audience_type", audience_type)):
        problem = text_problem(text)
        if problem:
            raise InvalidCampaign(f"the campaign's {field} {problem}")


class Campaign(TimedAggregate):
    """A multi-step outreach campaign of one brand.

    Its times (`created_at`, `launched_at`, ...) are its events' own timestamps (domain/event_time.py),
    also for events stored before their time fields were made to agree with them.
    """

    class CampaignCreated(Aggregate.Created):
        brand_id: UUID
        name: str
        audience_type: str
        ai_personalization: bool
        lead_group_ids: list[str]
        steps: list[dict[str, Any]]
        timezone: str
        sending_window: dict[str, Any]
        created_at: datetime
        class_version = 1
        TIME_FIELD = "created_at"

    @event(CampaignCreated)
    def __init__(
        self,
        brand_id: UUID,
        name: str,
        audience_type: str,
        ai_personalization: bool,
        lead_group_ids: list[str],
        steps: list[dict[str, Any]],
        timezone: str,
        sending_window: dict[str, Any],
        created_at: datetime,
    ) -> None:
        self.brand_id = brand_id
        self.name = name
        self.audience_type = audience_type
        self.ai_personalization = ai_personalization
        self.lead_group_ids = list(lead_group_ids)
        self.steps = ordered([Step.from_dict(step) for step in steps])
        self.timezone = timezone
        self.sending_window = dict(sending_window)
        self.created_at = self.created_on  # the event's own time
        self.status = CampaignStatus.DRAFT
        self.launched_at: datetime | None = None
        self.completed_at: datetime | None = None
        self.archived_at: datetime | None = None
        self.credits_reserved = 0
        self.current_pause: Pause | None = None  # who paused it, why and when, while PAUSED

    @classmethod
    def create(
        cls,
        campaign_id: UUID,
        brand_id: UUID,
        name: str,
        steps: list[Step],
        created_at: datetime,
        audience_type: str = "leads",
        ai_personalization: bool = False,
        lead_group_ids: list[str] | None = None,
        timezone: str = "UTC",
        sending_window: dict[str, Any] | None = None,
    ) -> Campaign:
        _check_definition(name, audience_type, lead_group_ids or [])
        validate_steps(steps)
        SendingWindow.from_dict(sending_window)
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as unknown:
            raise InvalidCampaign(
                f"unknown time zone {timezone!r}: use an IANA name such as Europe/Paris"
            ) from unknown
        return cls._create(
            cls.CampaignCreated,
            id=campaign_id,
            brand_id=brand_id,
            name=name,
            audience_type=audience_type,
            ai_personalization=ai_personalization,
            lead_group_ids=list(lead_group_ids or []),
            steps=[step.as_dict() for step in steps],
            timezone=timezone,
            sending_window=dict(sending_window or {}),
            created_at=created_at,
        )

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise DomainError(f"campaign {self.id} has no step {step_id}")

    def _require(self, action: str) -> None:
        if self.status not in _ALLOWED[action]:
            raise IllegalTransition(f"cannot {action} a campaign that is {self.status.value}")

    class CampaignLaunched(Aggregate.Event):
        launched_at: datetime
        credits_reserved: int
        class_version = 1
        TIME_FIELD = "launched_at"

    def launch(self, launched_at: datetime, credits_reserved: int) -> None:
        self._require("launch")
        self._launched(launched_at, credits_reserved)

    @event(CampaignLaunched)
    def _launched(
        self, launched_at: datetime, credits_reserved: int, timestamp: datetime | None = None
    ) -> None:
        self.status = CampaignStatus.ACTIVE
        self.launched_at = timestamp  # the event's own time: applying an event always gives it
        self.credits_reserved = credits_reserved

    class CampaignPaused(Aggregate.Event):
        paused_at: datetime
        by: str = PausedBy.USER.value  # a PausedBy value: who paused it
        reason: str | None = None  # why, in words (a user gives none)
        figures: dict[str, Any] | None = None  # the guard's window: domain/deliverability.py Breach
        class_version = 2
        TIME_FIELD = "paused_at"

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Added `by`, `reason` and `figures`: every v1 pause was a user's, with no reason."""
            state.setdefault("by", PausedBy.USER.value)
            state.setdefault("reason", None)
            state.setdefault("figures", None)

    def pause(self, paused_at: datetime) -> None:
        self._require("pause")
        self._paused(paused_at, PausedBy.USER.value, None, None)

    def pause_for_deliverability(self, paused_at: datetime, breach: Breach) -> bool:
        """The deliverability guard pauses a running campaign (False, nothing recorded, unless ACTIVE)."""
        if self.status is not CampaignStatus.ACTIVE:
            return False
        self._paused(paused_at, PausedBy.DELIVERABILITY_GUARD.value, breach.reason, breach.figures())
        return True

    @event(CampaignPaused)
    def _paused(
        self,
        paused_at: datetime,
        by: str,
        reason: str | None,
        figures: dict[str, Any] | None,
        timestamp: datetime | None = None,
    ) -> None:
        self.status = CampaignStatus.PAUSED
        self.current_pause = Pause(PausedBy(by), reason, timestamp or paused_at)

    class CampaignResumed(Aggregate.Event):
        resumed_at: datetime
        class_version = 1
        TIME_FIELD = "resumed_at"

    def resume(self, resumed_at: datetime) -> None:
        self._require("resume")
        self._resumed(resumed_at)

    @event(CampaignResumed)
    def _resumed(self, resumed_at: datetime) -> None:
        self.status = CampaignStatus.ACTIVE
        self.current_pause = None

    class CampaignCompleted(Aggregate.Event):
        completed_at: datetime
        class_version = 1
        TIME_FIELD = "completed_at"

    def complete(self, completed_at: datetime) -> None:
        self._require("complete")
        self._completed(completed_at)

    @event(CampaignCompleted)
    def _completed(self, completed_at: datetime, timestamp: datetime | None = None) -> None:
        self.status = CampaignStatus.COMPLETED
        self.completed_at = timestamp

    class CampaignArchived(Aggregate.Event):
        archived_at: datetime
        class_version = 1
        TIME_FIELD = "archived_at"

    def archive(self, archived_at: datetime) -> None:
        self._require("archive")
        self._archived(archived_at)

    @event(CampaignArchived)
    def _archived(self, archived_at: datetime, timestamp: datetime | None = None) -> None:
        self.status = CampaignStatus.ARCHIVED
        self.archived_at = timestamp
