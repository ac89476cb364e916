"""Enrollment: a contact's progress through a campaign's step groups (DESIGN.md section 3). A
contact is planned only the steps whose channel address it has (keys 'email', 'sms', 'voicemail' in
`addresses`; WAITs always kept) and is not enrolled at all when it can receive nothing. Group 0 is
due at enrollment; each later group is due at the previous group's finish plus the day difference
plus the WAIT days in the groups (previous, next]. A due group is dispatched once, a cancelled
dispatch can be dispatched again, and a step is never sent twice. A property test drives random
plans to the end and checks every send happens exactly once, in group order, on schedule.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from eventsourcing.application import Application
from hypothesis import given
from hypothesis import strategies as st

from domain.enrollment import Enrollment, StepStatus
from domain.errors import DomainError
from domain.schedule import group_due_at
from domain.steps import Step, StepType, ordered
from domain.withdrawal import WithdrawalCause

EMAIL, SMS, VOICEMAIL, WAIT = StepType.EMAIL, StepType.SMS, StepType.VOICEMAIL, StepType.WAIT
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
ALL = {"email": "ann@example.com", "sms": "+15551230000", "voicemail": "+15551230000"}
DAY = timedelta(days=1)


def step(sid: str, kind: StepType, group: int, days: int = 0) -> Step:
    return Step(sid, kind, group, order=0, subject="s", body="b", audio_url="u", wait_days=days)


def enroll(steps: list[Step], addresses: dict[str, str] = ALL) -> Enrollment | None:
    return Enrollment.enroll(uuid4(), uuid4(), uuid4(), addresses, ordered(steps), T0)


def send(enrollment: Enrollment, step_id: str, at: datetime) -> None:
    enrollment.attempt(step_id, "sender-1", at)
    enrollment.record_sent(step_id, "provider-id", 1, at)


MIXED = [step("e0", EMAIL, 0), step("s0", SMS, 0), step("v1", VOICEMAIL, 1), step("w1", WAIT, 1, 2)]


@pytest.mark.parametrize(
    ("addresses", "planned"),
    [
        ({"email": "a@x.io"}, ["e0", "w1"]),
        ({"sms": "+1555"}, ["s0", "w1"]),
        ({"voicemail": "+1555"}, ["v1", "w1"]),
        ({"email": "a@x.io", "sms": "", "voicemail": "+1555"}, ["e0", "v1", "w1"]),
    ],
)
def test_enroll_plans_only_steps_whose_channel_address_the_contact_has(addresses, planned) -> None:
    enrollment = enroll(MIXED, addresses)
    assert enrollment is not None
    assert [s.id for s in enrollment.plan] == planned


@pytest.mark.parametrize("addresses", [{}, {"email": ""}, {"phone": "+1555"}, {"sms": "+1555"}])
def test_enroll_returns_none_when_the_contact_can_receive_nothing(addresses) -> None:
    assert enroll([step("e0", EMAIL, 0), step("w0", WAIT, 1, 3)], addresses) is None


def test_enrollment_id_is_derived_from_campaign_and_contact() -> None:
    campaign, contact = uuid4(), uuid4()
    assert Enrollment.create_id(campaign, contact) == Enrollment.create_id(campaign, contact)
    assert Enrollment.create_id(campaign, contact) != Enrollment.create_id(campaign, uuid4())


def test_group_zero_is_due_at_enrollment_time() -> None:
    enrollment = enroll(MIXED)
    assert (enrollment.current_group, enrollment.due_at) == (0, T0)
    assert enrollment.dispatch_due(T0 - timedelta(seconds=1)) == []


def test_first_reachable_group_counts_its_day_and_earlier_waits_from_enrollment() -> None:
    steps = [step("e0", EMAIL, 0), step("w0", WAIT, 0, 1), step("w1", WAIT, 1, 3)]
    enrollment = enroll([*steps, step("s2", SMS, 2)], {"sms": "+1555"})
    assert (enrollment.current_group, enrollment.due_at) == (2, T0 + 2 * DAY + 4 * DAY)


def test_due_group_is_dispatched_only_once() -> None:
    enrollment = enroll(MIXED)
    assert {s.id for s in enrollment.dispatch_due(T0)} == {"e0", "s0"}
    assert enrollment.dispatch_due(T0) == []
    assert enrollment.dispatch_due(T0 + 10 * DAY) == []


def test_finishing_a_group_schedules_the_next_after_day_gap_and_waits_in_between() -> None:
    steps = [
        *[step("e0", EMAIL, 0), step("e0b", EMAIL, 0), step("w0", WAIT, 0, 1)],
        *[step("w2", WAIT, 2, 2), step("w3", WAIT, 3, 4), step("s3", SMS, 3)],
        *[step("w4", WAIT, 4, 5), step("e5", EMAIL, 5), step("w6", WAIT, 6, 7)],
    ]
    enrollment = enroll(steps)
    assert enrollment.due_at == T0 + DAY  # a WAIT in group 0 delays group 0 itself
    enrollment.dispatch_due(enrollment.due_at)
    send(enrollment, "e0", T0 + DAY + timedelta(hours=1))
    assert enrollment.current_group == 0  # e0b has no outcome yet
    finished_group_0 = T0 + DAY + timedelta(hours=2)
    send(enrollment, "e0b", finished_group_0)
    assert enrollment.current_group == 3
    assert enrollment.due_at == finished_group_0 + (3 + 2 + 4) * DAY
    assert enrollment.dispatch_due(enrollment.due_at - timedelta(seconds=1)) == []
    assert [s.id for s in enrollment.dispatch_due(enrollment.due_at)] == ["s3"]
    finished_group_3 = enrollment.due_at + timedelta(minutes=5)
    send(enrollment, "s3", finished_group_3)
    assert (enrollment.current_group, enrollment.due_at) == (5, finished_group_3 + (2 + 5) * DAY)


def test_a_step_is_never_sent_twice() -> None:
    enrollment = enroll([step("e0", EMAIL, 0), step("s0", SMS, 0)])
    enrollment.dispatch_due(T0)
    send(enrollment, "e0", T0)
    for again in (
        lambda: enrollment.record_sent("e0", "other-id", 1, T0),
        lambda: enrollment.attempt("e0", "sender-2", T0),
        lambda: enrollment.record_failed("e0", "late failure", 1, T0),
        lambda: enrollment.cancel("e0", "paused", T0),
    ):
        with pytest.raises(DomainError):
            again()
    assert enrollment.status_of("e0") is StepStatus.SENT
    assert sum(isinstance(e, Enrollment.StepSent) for e in enrollment.pending_events) == 1


def test_send_requires_a_dispatch_and_an_attempt() -> None:
    enrollment = enroll([step("e0", EMAIL, 0)])
    with pytest.raises(DomainError):
        enrollment.attempt("e0", "sender-1", T0)
    enrollment.dispatch_due(T0)
    with pytest.raises(DomainError):
        enrollment.record_sent("e0", "provider-id", 1, T0)


def test_cancelled_dispatch_is_dispatched_again_and_sent_steps_are_not() -> None:
    enrollment = enroll([step("e0", EMAIL, 0), step("s0", SMS, 0)])
    enrollment.dispatch_due(T0)
    send(enrollment, "e0", T0)
    enrollment.cancel("s0", "campaign paused", T0)
    assert enrollment.status_of("s0") is StepStatus.CANCELLED
    assert [s.id for s in enrollment.dispatch_due(T0 + DAY)] == ["s0"]


def test_a_sent_step_cannot_be_cancelled_but_an_unanswered_attempt_can() -> None:
    enrollment = enroll([step("e0", EMAIL, 0), step("s0", SMS, 0)])
    enrollment.dispatch_due(T0)
    send(enrollment, "e0", T0)
    with pytest.raises(DomainError):
        enrollment.cancel("e0", "paused", T0)
    enrollment.attempt("s0", "sender-1", T0)
    enrollment.cancel("s0", "paused; the provider never got it", T0)  # after reconciliation
    assert enrollment.status_of("s0") is StepStatus.CANCELLED
    assert enrollment.dispatch_due(T0) == [enrollment.plan[1]]


def test_a_deferred_step_waits_and_keeps_its_attempt_count() -> None:
    enrollment = enroll([step("e0", EMAIL, 0)])
    enrollment.dispatch_due(T0)
    enrollment.attempt("e0", "sender-1", T0)
    due = enrollment.defer("e0", "transient: 429", T0 + DAY, T0)
    assert due == T0 + DAY and enrollment.status_of("e0") is StepStatus.PENDING
    assert enrollment.dispatch_due(T0) == []
    assert [s.id for s in enrollment.dispatch_due(T0 + DAY)] == ["e0"]
    assert enrollment.was_attempted("e0") and enrollment.attempts["e0"] == 1


def test_enrollment_finishes_after_the_last_group() -> None:
    enrollment = enroll([step("e0", EMAIL, 0), step("s1", SMS, 1), step("w2", WAIT, 2, 3)])
    enrollment.dispatch_due(T0)
    send(enrollment, "e0", T0)
    enrollment.dispatch_due(enrollment.due_at)
    enrollment.record_failed("s1", "invalid number", 1, T0 + 2 * DAY)
    assert enrollment.finished and enrollment.finished_at == T0 + 2 * DAY
    assert isinstance(enrollment.pending_events[-1], Enrollment.EnrollmentFinished)
    assert (enrollment.current_group, enrollment.due_at) == (None, None)
    assert enrollment.dispatch_due(T0 + 100 * DAY) == []


def test_an_outcome_in_a_later_group_does_not_finish_the_enrollment_early() -> None:
    enrollment = enroll([step("e0", EMAIL, 0), step("e1", EMAIL, 1), step("e2", EMAIL, 2)])
    with contextlib.suppress(DomainError):  # e.g. a reply stopping steps, latest group first
        enrollment.record_failed("e2", "replied", 1, T0)
    assert not enrollment.finished and enrollment.current_group == 0


def test_an_outcome_for_an_unknown_step_is_a_domain_error() -> None:
    with pytest.raises(DomainError):
        enroll([step("e0", EMAIL, 0)]).record_failed("nope", "x", 1, T0)


plans = st.lists(
    st.tuples(st.sampled_from(list(StepType)), st.integers(0, 5), st.integers(0, 3)),
    min_size=1,
    max_size=10,
).filter(lambda xs: any(kind is not WAIT for kind, _, _ in xs))


@given(plans, st.data())
def test_driving_an_enrollment_sends_every_step_once_in_group_order_on_schedule(spec, data):
    steps = [step(f"s{i}", kind, group, days) for i, (kind, group, days) in enumerate(spec)]
    enrollment = enroll(steps)
    prev_group, prev_finish, sent = None, T0, []
    while not enrollment.finished:
        group, now = enrollment.current_group, enrollment.due_at
        assert now == group_due_at(enrollment.plan, group, prev_group, prev_finish)
        dispatched = enrollment.dispatch_due(now)
        assert {s.id for s in dispatched} == {s.id for s in enrollment.sends_in(group)} != set()
        assert enrollment.dispatch_due(now) == []
        for s in dispatched:
            now += timedelta(minutes=data.draw(st.integers(0, 600)))
            send(enrollment, s.id, now)
            sent.append(s)
        prev_group, prev_finish = group, now
    assert Counter(s.id for s in sent) == Counter(s.id for s in steps if s.type is not WAIT)
    assert [s.group for s in sent] == sorted(s.group for s in sent)
    assert enrollment.finished_at == prev_finish

    store = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    store.save(enrollment)
    copy = store.repository.get(enrollment.id)
    assert (copy.step_status, copy.finished_at) == (enrollment.step_status, enrollment.finished_at)
    assert all(type(status) is StepStatus for status in copy.step_status.values())  # rebuilt as the enum


def test_a_stopped_campaigns_steps_attempted_without_an_outcome_are_dispatched_again_to_be_asked_about() -> (
    None
):
    lease = timedelta(minutes=10)
    enrollment = enroll([step("e0", EMAIL, 0), step("s0", SMS, 0), step("v0", VOICEMAIL, 0)])
    assert enrollment is not None
    enrollment.dispatch_due(T0)
    enrollment.attempt("e0", "sender-1", T0)
    enrollment.defer("e0", "transient: the answer was lost", T0 + DAY, T0)  # maybe sent: ask
    enrollment.attempt("s0", "sender-2", T0)  # at the provider, still within the lease
    # v0 was dispatched, never attempted: nothing to ask about
    assert enrollment.redispatch_unsettled(T0 + lease - timedelta(seconds=1), lease) == [step("e0", EMAIL, 0)]
    assert enrollment.status_of("e0") is StepStatus.DISPATCHED
    assert [s.id for s in enrollment.redispatch_unsettled(T0 + lease, lease)] == ["s0"]
    assert enrollment.redispatch_unsettled(T0 + lease, lease) == []  # e0 dispatched again just now
    enrollment.attempt("s0", "sender-2", T0 + lease)  # found at the provider: recorded as sent
    enrollment.record_sent("s0", "msg", 1, T0 + lease)
    assert enrollment.redispatch_unsettled(T0 + 3 * lease, lease) == [step("e0", EMAIL, 0)]
    dispatches = [e for e in enrollment.collect_events() if isinstance(e, Enrollment.StepDispatched)]
    assert [(e.step_id, e.redispatched) for e in dispatches[-3:]] == [
        ("e0", True),
        ("s0", True),
        ("e0", True),
    ]


def test_a_step_deferred_or_cancelled_is_no_longer_in_flight() -> None:
    enrollment = enroll([step("e0", EMAIL, 0), step("s0", SMS, 0)])
    enrollment.dispatch_due(T0)
    assert set(enrollment.in_flight_since) == {"e0", "s0"}
    enrollment.defer("e0", "transient: 429", T0 + DAY, T0)
    enrollment.cancel("s0", "campaign paused", T0)
    assert enrollment.in_flight_since == {}


def test_a_step_with_an_outcome_is_no_longer_in_flight() -> None:
    enrollment = enroll([step("e0", EMAIL, 0), step("s0", SMS, 0), step("v0", VOICEMAIL, 0)])
    enrollment.dispatch_due(T0)
    enrollment.attempt("e0", "sender-1", T0)
    assert enrollment.record_sent("e0", "provider-id", 1, T0) is True
    assert enrollment.record_failed("s0", "invalid number", 1, T0) is True
    assert set(enrollment.in_flight_since) == {"v0"}
    enrollment.withdraw_step("v0", "address suppressed", 1, T0, cause=WithdrawalCause.SUPPRESSED)
    assert enrollment.in_flight_since == {}


def test_an_attempt_names_its_campaign_and_each_try_is_counted() -> None:
    enrollment = enroll([step("e0", EMAIL, 0)])
    enrollment.dispatch_due(T0)
    enrollment.attempt("e0", "sender-1", T0)
    enrollment.defer("e0", "transient: 429", T0 + DAY, T0)
    enrollment.dispatch_due(T0 + DAY)
    enrollment.attempt("e0", "sender-2", T0 + DAY)
    attempts = [e for e in enrollment.collect_events() if isinstance(e, Enrollment.StepAttempted)]
    assert {e.campaign_id for e in attempts} == {enrollment.campaign_id}
    assert (enrollment.attempts, enrollment.sender_of) == ({"e0": 2}, {"e0": "sender-2"})


def test_a_group_deferred_step_by_step_is_due_when_its_latest_deferral_ends() -> None:
    enrollment = enroll([step("e0", EMAIL, 0), step("s0", SMS, 0)])
    enrollment.dispatch_due(T0)
    enrollment.defer("e0", "every sender is at its cap", T0 + 2 * DAY, T0)
    enrollment.defer("s0", "transient: 429", T0 + DAY, T0)  # an earlier wait does not bring it forward
    assert enrollment.due_at == T0 + 2 * DAY
    assert enrollment.dispatch_due(T0 + DAY) == []
    assert [s.id for s in enrollment.dispatch_due(T0 + 2 * DAY)] == ["e0", "s0"]
