"""An enrollment's plan: the campaign's steps one contact can receive, and the arithmetic of its groups.

The plan keeps a campaign's steps whose channel the contact has an address for, and its WAITs
(they delay whatever comes after them). A group's sends are its steps that are not WAITs; when a
group is due follows from the one before it (domain/schedule.py). `StepRef` names one send of the
plan (its step and channel), the way a dispatch names it; `DispatchedStep` is its stored shape.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, TypedDict

from domain.errors import DomainError
from domain.schedule import group_due_at
from domain.steps import Step, StepData, StepType


class StepRef(NamedTuple):
    """One send of an enrollment's plan, as a dispatch names it: the step and its channel."""

    step_id: str
    channel: str

    @classmethod
    def of(cls, step: Step) -> StepRef:
        return cls(step.id, step.channel or "")  # a plan's sends always have a channel


class DispatchedStep(TypedDict):
    """A StepRef as ContactEnrolled (v4) stores the first group's sends dispatched with it."""

    step_id: str
    channel: str


@dataclass(frozen=True)
class EnrollmentPlan:
    """The steps of one enrollment, in the campaign's order; iterable and indexable like a list."""

    steps: tuple[Step, ...]

    @classmethod
    def for_contact(cls, steps: Sequence[Step], addresses: Mapping[str, str]) -> EnrollmentPlan:
        """The steps a contact with these addresses can receive, and every WAIT."""
        return cls(
            tuple(
                step
                for step in steps
                if step.type is StepType.WAIT or (step.channel and addresses.get(step.channel))
            )
        )

    @classmethod
    def from_stored(cls, plan: Sequence[Mapping[str, object]]) -> EnrollmentPlan:
        return cls(tuple(Step.from_dict(step) for step in plan))

    def stored(self) -> list[StepData]:
        return [step.as_dict() for step in self.steps]

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, index: int) -> Step:
        return self.steps[index]

    def sends(self) -> list[Step]:
        """Every step that sends something (not a WAIT)."""
        return [step for step in self.steps if step.type is not StepType.WAIT]

    def sends_in(self, group: int) -> list[Step]:
        return [step for step in self.sends() if step.group == group]

    def first_group(self) -> int | None:
        """The first group with a send; None when the contact can receive nothing."""
        return min((step.group for step in self.sends()), default=None)

    def channels(self) -> set[str]:
        return {step.channel for step in self.steps if step.channel}

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise DomainError(f"step {step_id} is not in this enrollment's plan")

    def due_at(self, group: int, previous_group: int | None, previous_finished_at: datetime) -> datetime:
        """When `group` is due once `previous_group` finished at `previous_finished_at` (before the
        contact's sending window moves it)."""
        return group_due_at(list(self.steps), group, previous_group, previous_finished_at)
