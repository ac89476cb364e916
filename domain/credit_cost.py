"""What a launch must reserve: steps of each type times the contacts eligible for it, times unit cost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from domain.steps import Step, StepType

DEFAULT_UNIT_COSTS: Mapping[StepType, int] = {
    StepType.EMAIL: 1,
    StepType.SMS: 1,
    StepType.VOICEMAIL: 1,
    StepType.WAIT: 0,
}


def credit_cost(
    steps: Iterable[Step],
    eligible_contacts: Mapping[StepType, int],
    unit_costs: Mapping[StepType, int] = DEFAULT_UNIT_COSTS,
) -> int:
    """Sum over types of (steps of that type x eligible contacts for it x unit cost)."""
    steps_per_type = Counter(step.type for step in steps)
    return sum(
        count * eligible_contacts.get(step_type, 0) * unit_costs[step_type]
        for step_type, count in steps_per_type.items()
    )
