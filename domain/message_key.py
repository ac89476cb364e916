"""The exactly-once key of one step's send: the enrollment and the step, nothing that can change.

Every attempt at the same step of the same enrollment carries the same key, so the provider (or
our record of what it took) can tell a second attempt from a new message, the step locks are taken
on it, the settlement matches an attempt to its outcome by it, and a parked dispatch is named by it.
"""

from __future__ import annotations

from uuid import UUID


def message_key(enrollment_id: UUID, step_id: str) -> str:
    """The key of the send of step `step_id` of enrollment `enrollment_id`."""
    return f"{enrollment_id}:{step_id}"
