"""Due-time arithmetic for a contact's step groups: day differences plus WAIT durations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from domain.steps import Step, StepType


def group_due_at(
    steps: Iterable[Step], group: int, previous_group: int | None, previous_finished_at: datetime
) -> datetime:
    """When `group` is due for a contact who finished `previous_group` at `previous_finished_at`.

    The first group a contact reaches counts from launch as if group 0 had just finished there:
    its day difference is the group number itself and every WAIT up to it counts.
    """
    start = -1 if previous_group is None else previous_group
    days = group - max(start, 0)
    waits = sum(
        step.wait_days for step in steps if step.type is StepType.WAIT and start < step.group <= group
    )
    return previous_finished_at + timedelta(days=days + waits)
