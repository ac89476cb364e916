"""Campaign steps as value objects: type, day group, order inside the group, and content."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from domain.errors import InvalidCampaign


class StepType(StrEnum):
    EMAIL = "EMAIL"
    SMS = "SMS"
    VOICEMAIL = "VOICEMAIL"
    WAIT = "WAIT"

    @property
    def channel(self) -> str | None:
        """The delivery channel a step of this type uses; WAIT sends nothing."""
        return _CHANNELS[self]


_CHANNELS = {StepType.EMAIL: "email", StepType.SMS: "sms", StepType.VOICEMAIL: "voicemail"}
_CHANNELS[StepType.WAIT] = None  # type: ignore[assignment]
CHANNELS = ("email", "sms", "voicemail")


@dataclass(frozen=True)
class Step:
    id: str
    type: StepType
    group: int
    order: int
    subject: str | None = None
    body: str | None = None
    audio_url: str | None = None
    wait_days: int = 0

    @property
    def channel(self) -> str | None:
        return self.type.channel

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["type"] = self.type.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        return cls(**{**data, "type": StepType(data["type"])})


def validate_steps(steps: list[Step]) -> None:
    """Refuse step lists a campaign could never run: bad groups, waits or missing content."""
    ids = [step.id for step in steps]
    if len(set(ids)) != len(ids):
        raise InvalidCampaign("step ids must be unique")
    for step in steps:
        if step.group < 0:
            raise InvalidCampaign(f"step {step.id}: group must be 0 or more")
        if step.type is StepType.WAIT and step.wait_days < 0:
            raise InvalidCampaign(f"step {step.id}: wait_days must be 0 or more")
        if step.type is StepType.EMAIL and not (step.subject and step.body):
            raise InvalidCampaign(f"step {step.id}: an EMAIL step needs a subject and a body")
        if step.type is StepType.SMS and not step.body:
            raise InvalidCampaign(f"step {step.id}: an SMS step needs a body")
        if step.type is StepType.VOICEMAIL and not step.audio_url:
            raise InvalidCampaign(f"step {step.id}: a VOICEMAIL step needs an audio_url")


def ordered(steps: list[Step]) -> list[Step]:
    """Steps by group, then by their order inside the group."""
    return sorted(steps, key=lambda step: (step.group, step.order))
