"""Withdrawing steps for good (a suppressed address) and re-dispatching steps whose message was lost.

A withdrawal ends every unsent step of the address's channels with its credit released, leaves
an attempted step to its worker and other channels alone, and lets the schedule move on as if
the withdrawn group had been sent at its due time. A step in flight longer than the lease is
dispatched again; a younger one, or one with an outcome, is not.
"""

from __future__ import annotations

from datetime import timedelta

from domain.credit_cost import DEFAULT_UNIT_COSTS
from domain.enrollment import Enrollment, StepStatus
from domain.withdrawal import WithdrawalCause
from tests.unit.test_enrollment import ALL, DAY, EMAIL, SMS, T0, WAIT, enroll, send, step

FOLLOW_UP = [step("e0", EMAIL, 0), step("w1", WAIT, 1, 1), step("e1", EMAIL, 1), step("s1", SMS, 1)]
LEASE = timedelta(minutes=10)


def withdrawn(enrollment: Enrollment) -> list[Enrollment.StepWithdrawn]:
    return [e for e in enrollment.collect_events() if isinstance(e, Enrollment.StepWithdrawn)]


def test_an_email_withdrawal_ends_the_unsent_email_steps_and_leaves_texts_alone() -> None:
    enrollment = enroll(FOLLOW_UP)
    enrollment.dispatch_due(T0)
    send(enrollment, "e0", T0)
    enrollment.collect_events()
    assert enrollment.withdraw(
        {"email"}, "address suppressed", DEFAULT_UNIT_COSTS, T0, cause=WithdrawalCause.SUPPRESSED
    ) == [FOLLOW_UP[2]]
    [event] = withdrawn(enrollment)
    assert (event.step_id, event.channel, event.credits_released) == ("e1", "email", 1)
    assert (
        enrollment.status_of("e1") is StepStatus.WITHDRAWN
        and enrollment.status_of("s1") is StepStatus.PENDING
    )
    enrollment.dispatch_due(T0 + 2 * DAY)
    assert (
        enrollment.status_of("s1") is StepStatus.DISPATCHED
        and enrollment.status_of("e1") is StepStatus.WITHDRAWN
    )
    send(enrollment, "s1", T0 + 2 * DAY)
    assert enrollment.finished


def test_withdrawing_every_remaining_step_finishes_the_enrollment_at_the_due_time() -> None:
    enrollment = enroll(FOLLOW_UP, {"email": ALL["email"]})
    enrollment.dispatch_due(T0)
    send(enrollment, "e0", T0)
    enrollment.withdraw(
        {"email"}, "address suppressed", DEFAULT_UNIT_COSTS, T0 + DAY, cause=WithdrawalCause.SUPPRESSED
    )
    assert enrollment.finished and enrollment.finished_at == T0 + 2 * DAY


def test_an_attempted_step_is_left_to_its_worker_and_withdrawn_there() -> None:
    enrollment = enroll([step("e0", EMAIL, 0)], {"email": ALL["email"]})
    enrollment.dispatch_due(T0)
    enrollment.attempt("e0", "sender-1", T0)
    assert (
        enrollment.withdraw(
            {"email"}, "address suppressed", DEFAULT_UNIT_COSTS, T0, cause=WithdrawalCause.SUPPRESSED
        )
        == []
    )
    enrollment.withdraw_step("e0", "address suppressed at send time", 1, T0, cause=WithdrawalCause.SUPPRESSED)
    assert enrollment.status_of("e0") is StepStatus.WITHDRAWN and enrollment.finished


def test_a_step_in_flight_longer_than_the_lease_is_dispatched_again_and_only_then() -> None:
    enrollment = enroll([step("e0", EMAIL, 0), step("s0", SMS, 0)])
    enrollment.dispatch_due(T0)
    enrollment.attempt("e0", "sender-1", T0 + timedelta(minutes=5))
    assert enrollment.redispatch_stale(T0 + timedelta(minutes=12), LEASE) == [enrollment.plan[1]]
    enrollment.collect_events()
    assert enrollment.redispatch_stale(T0 + timedelta(minutes=14), LEASE) == []
    again = enrollment.redispatch_stale(T0 + timedelta(minutes=16), LEASE)
    assert [s.id for s in again] == ["e0"]
    [event] = enrollment.collect_events()
    assert isinstance(event, Enrollment.StepDispatched) and event.redispatched
    assert enrollment.status_of("e0") is StepStatus.DISPATCHED and enrollment.was_attempted("e0")
    enrollment.attempt("e0", "sender-1", T0 + timedelta(minutes=16))
    enrollment.record_sent("e0", "p", 1, T0 + timedelta(minutes=16))
    assert [s.id for s in enrollment.redispatch_stale(T0 + DAY, LEASE)] == ["s0"]
