"""The exactly-once key of a step's send: one enrollment and one step give one key, whoever builds it."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from domain.enrollment import Enrollment
from domain.message_key import message_key
from domain.steps import Step, StepType, ordered

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def test_the_key_is_the_enrollment_and_the_step() -> None:
    enrollment_id = uuid4()
    assert message_key(enrollment_id, "e0") == f"{enrollment_id}:e0"
    assert message_key(enrollment_id, "e0") != message_key(enrollment_id, "e1")
    assert message_key(enrollment_id, "e0") != message_key(uuid4(), "e0")


def test_the_key_an_attempt_records_is_the_domains_message_key() -> None:
    """The enrollment records the key on StepAttempted; the send path locks and the settlement
    closes attempts by the key they build: all three must agree."""
    steps = ordered([Step("e0", StepType.EMAIL, 0, order=0, subject="s", body="b")])
    enrollment = Enrollment.enroll(uuid4(), uuid4(), uuid4(), {"email": "ann@example.com"}, steps, T0)
    assert enrollment is not None
    [step] = enrollment.dispatch_due(T0)
    key = enrollment.attempt(step.id, "sender-7", T0)
    [*_, attempted] = enrollment.collect_events()
    assert isinstance(attempted, Enrollment.StepAttempted)
    assert key == attempted.message_key == message_key(enrollment.id, "e0")
