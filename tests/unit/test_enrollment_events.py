"""What an Enrollment records: each StepExecution event carries exactly the facts the projections,
the settlement and the audit trail read (campaign, step, channel, sender, times, reasons, credits),
and a refused command says why in words a client sees as the problem detail.

Each test walks one enrollment through part of its life and compares every event it recorded,
field by field, with what the command was given.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.credit_cost import DEFAULT_UNIT_COSTS
from domain.enrollment import Enrollment, StepStatus, dispatched_steps
from domain.errors import DomainError
from domain.sending_window import SendingWindow
from domain.steps import Step, StepType, ordered
from domain.withdrawal import WithdrawalCause
from tests.unit.messages import exactly

EMAIL, SMS, VOICEMAIL, WAIT = StepType.EMAIL, StepType.SMS, StepType.VOICEMAIL, StepType.WAIT
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday
DAY, MINUTE = timedelta(days=1), timedelta(minutes=1)
ADDRESSES = {"email": "ann@example.com", "sms": "+15551230000", "voicemail": "+15551230000"}
CAMPAIGN, BRAND, CONTACT = uuid4(), uuid4(), uuid4()
LEASE = timedelta(minutes=10)


def step(sid: str, kind: StepType, group: int, days: int = 0) -> Step:
    return Step(sid, kind, group, order=0, subject="s", body="b", audio_url="https://a/x.mp3", wait_days=days)


PLAN = [step("e0", EMAIL, 0), step("s0", SMS, 0), step("w1", WAIT, 1, 2), step("v1", VOICEMAIL, 1)]


def enroll(steps: list[Step] = PLAN, **options) -> Enrollment:
    enrollment = Enrollment.enroll(CAMPAIGN, BRAND, CONTACT, ADDRESSES, ordered(steps), T0, **options)
    assert enrollment is not None
    return enrollment


def fields(event, *names: str) -> dict:
    return {name: getattr(event, name) for name in names}


def dispatched(steps: list[Step] = PLAN, **options) -> Enrollment:
    """An enrollment whose group 0 was dispatched at T0, with its events so far collected."""
    enrollment = enroll(steps, **options)
    enrollment.dispatch_due(T0)
    enrollment.collect_events()
    return enrollment


def test_enrolling_records_the_contact_the_plan_and_where_it_is_sent() -> None:
    window = {"days": ["mon", "tue"], "start": "08:00", "end": "18:00"}
    enrollment = enroll(window=window, timezone="Europe/Paris")
    [created] = enrollment.collect_events()  # the first group's schedule is part of the enrollment
    assert isinstance(created, Enrollment.ContactEnrolled)
    assert created.originator_id == enrollment.id
    assert fields(created, "campaign_id", "brand_id", "contact_id", "addresses", "enrolled_at") == {
        "campaign_id": CAMPAIGN,
        "brand_id": BRAND,
        "contact_id": CONTACT,
        "addresses": ADDRESSES,
        "enrolled_at": T0,
    }
    assert (created.window, created.timezone) == (window, "Europe/Paris")
    assert [s["id"] for s in created.plan] == ["e0", "s0", "w1", "v1"]
    assert (enrollment.brand_id, enrollment.enrolled_at, enrollment.timezone) == (BRAND, T0, "Europe/Paris")
    assert enrollment.window == SendingWindow.from_dict(window)
    assert fields(created, "group", "due_at") == {
        "group": 0,
        "due_at": T0,  # Monday 10:00 in Paris is inside the window
    }
    assert (enrollment.current_group, enrollment.due_at) == (0, T0)


def test_an_enrolment_whose_first_sends_come_on_a_later_day_is_scheduled_for_that_day() -> None:
    steps = [
        Step("w0", StepType.WAIT, 0, order=0, wait_days=1),
        Step("e2", StepType.EMAIL, 2, order=0, subject="Hi", body="Hello"),
    ]
    enrollment = Enrollment.enroll(CAMPAIGN, BRAND, CONTACT, ADDRESSES, steps, T0)
    assert enrollment is not None
    [created] = enrollment.collect_events()
    assert (created.group, created.due_at) == (2, T0 + timedelta(days=3))  # day 2, and a day's wait


def test_without_a_time_zone_the_window_is_read_in_utc() -> None:
    enrollment = enroll(window={"start": "10:30", "end": "12:00"})
    [created] = enrollment.collect_events()
    assert created.timezone == enrollment.timezone == "UTC"
    assert created.due_at == T0.replace(hour=10, minute=30)


def test_the_first_due_time_moves_into_the_window_in_the_contacts_zone() -> None:
    enrollment = enroll(window={"start": "10:30", "end": "12:00"}, timezone="America/New_York")
    assert enrollment.due_at == T0.replace(hour=15, minute=30)  # 10:30 EST


def test_dispatching_records_the_campaign_step_channel_group_and_time() -> None:
    enrollment = enroll()
    enrollment.collect_events()
    enrollment.dispatch_due(T0 + MINUTE)
    events = enrollment.collect_events()
    assert all(isinstance(e, Enrollment.StepDispatched) for e in events)
    names = "campaign_id", "step_id", "channel", "group", "dispatched_at", "redispatched"
    assert [fields(e, *names) for e in events] == [
        dict(zip(names, (CAMPAIGN, "e0", "email", 0, T0 + MINUTE, False), strict=True)),
        dict(zip(names, (CAMPAIGN, "s0", "sms", 0, T0 + MINUTE, False), strict=True)),
    ]


def test_an_enrolment_due_at_once_dispatches_its_first_groups_sends_in_the_same_event() -> None:
    enrollment = enroll(dispatch=True)  # no window: group 0 is due at T0, the enrollment's own time
    [created] = enrollment.collect_events()
    assert isinstance(created, Enrollment.ContactEnrolled)
    assert created.dispatched == [{"step_id": "e0", "channel": "email"}, {"step_id": "s0", "channel": "sms"}]
    assert enrollment.step_status == {"e0": StepStatus.DISPATCHED, "s0": StepStatus.DISPATCHED}
    assert enrollment.in_flight_since == {"e0": T0, "s0": T0}
    assert enrollment.dispatch_due(T0 + MINUTE) == []  # nothing left to dispatch in the group
    assert dispatched_steps(created) == [("e0", "email"), ("s0", "sms")]

    again = created.mutate(None)  # the same state, read back from the event alone
    assert (again.step_status, again.in_flight_since) == (enrollment.step_status, enrollment.in_flight_since)


def test_an_enrolment_not_due_yet_or_not_asked_to_dispatches_nothing() -> None:
    later = enroll(window={"start": "10:30", "end": "12:00"}, dispatch=True)  # opens at 10:30
    not_asked = enroll()
    for enrollment in (later, not_asked):
        [created] = enrollment.collect_events()
        assert created.dispatched is None and dispatched_steps(created) == []
        assert enrollment.step_status == {} and enrollment.in_flight_since == {}
    assert [s.id for s in later.dispatch_due(T0.replace(hour=10, minute=30))] == ["e0", "s0"]


def test_only_the_first_groups_sends_go_out_with_the_enrolment() -> None:
    steps = [step("w0", WAIT, 0), step("v0", VOICEMAIL, 0), step("e1", EMAIL, 1)]
    enrollment = enroll(steps, dispatch=True)
    [created] = enrollment.collect_events()
    assert created.dispatched == [{"step_id": "v0", "channel": "voicemail"}]
    assert enrollment.status_of("e1") is StepStatus.PENDING


def test_a_dispatch_of_its_own_names_its_step_and_channel_and_other_events_none() -> None:
    enrollment = dispatched()
    enrollment.attempt("e0", "sender-1", T0)
    [attempted] = enrollment.collect_events()
    assert dispatched_steps(attempted) == []
    enrollment = enroll()
    enrollment.dispatch_due(T0)
    assert [dispatched_steps(e) for e in enrollment.collect_events()[1:]] == [
        [("e0", "email")],
        [("s0", "sms")],
    ]


def test_a_step_in_flight_exactly_as_long_as_the_lease_is_dispatched_again() -> None:
    enrollment = dispatched()
    enrollment.attempt("e0", "sender-1", T0 + MINUTE)
    enrollment.collect_events()
    assert enrollment.redispatch_stale(T0 + LEASE - timedelta(microseconds=1), LEASE) == []
    assert [s.id for s in enrollment.redispatch_stale(T0 + LEASE, LEASE)] == ["s0"]
    [event] = enrollment.collect_events()
    names = "campaign_id", "step_id", "channel", "group", "dispatched_at", "redispatched"
    assert fields(event, *names) == dict(
        zip(names, (CAMPAIGN, "s0", "sms", 0, T0 + LEASE, True), strict=True)
    )


def test_a_redispatch_in_a_later_group_records_that_group() -> None:
    enrollment = dispatched()
    for sid in ("e0", "s0"):
        enrollment.attempt(sid, "sender-1", T0)
        enrollment.record_sent(sid, "p", 1, T0)
    due = enrollment.due_at
    assert enrollment.current_group == 1 and [s.id for s in enrollment.dispatch_due(due)] == ["v1"]
    enrollment.collect_events()
    enrollment.redispatch_stale(due + LEASE, LEASE)
    [event] = enrollment.collect_events()
    assert (event.step_id, event.channel, event.group, event.redispatched) == ("v1", "voicemail", 1, True)


def test_an_attempt_records_the_sender_and_returns_the_steps_idempotency_key() -> None:
    enrollment = dispatched()
    key = enrollment.attempt("e0", "sender-7", T0 + MINUTE)
    assert key == f"{enrollment.id}:e0"
    [event] = enrollment.collect_events()
    assert isinstance(event, Enrollment.StepAttempted)
    assert fields(event, "step_id", "sender_account_id", "message_key", "attempted_at") == {
        "step_id": "e0",
        "sender_account_id": "sender-7",
        "message_key": key,
        "attempted_at": T0 + MINUTE,
    }
    assert enrollment.sender_of == {"e0": "sender-7"}


def test_a_step_never_attempted_was_not_attempted() -> None:
    enrollment = dispatched()
    assert not enrollment.was_attempted("e0")
    enrollment.attempt("e0", "sender-1", T0)
    assert enrollment.was_attempted("e0") and not enrollment.was_attempted("s0")


def test_a_send_records_the_campaign_channel_sender_message_credits_time_and_personalisation() -> None:
    enrollment = dispatched()
    enrollment.attempt("s0", "sender-3", T0 + MINUTE)
    enrollment.collect_events()
    enrollment.record_sent("s0", "SM123", 2, T0 + 2 * MINUTE, personalisation="model")
    [event] = enrollment.collect_events()
    assert isinstance(event, Enrollment.StepSent)
    names = "campaign_id", "step_id", "channel", "sender_account_id", "provider_message_id", "credits"
    assert fields(event, *names) == dict(
        zip(names, (CAMPAIGN, "s0", "sms", "sender-3", "SM123", 2), strict=True)
    )
    assert (event.sent_at, event.personalisation) == (T0 + 2 * MINUTE, "model")


def test_a_send_without_a_personalisation_note_was_made_from_the_template() -> None:
    enrollment = dispatched()
    enrollment.attempt("e0", "sender-1", T0)
    enrollment.collect_events()
    enrollment.record_sent("e0", "m-1", 1, T0)
    [event] = enrollment.collect_events()
    assert (event.channel, event.personalisation) == ("email", "template")


def test_a_failure_records_the_campaign_channel_reason_released_credits_and_time() -> None:
    enrollment = dispatched()
    enrollment.record_failed("s0", "invalid number", 3, T0 + MINUTE)
    [event] = enrollment.collect_events()
    assert isinstance(event, Enrollment.StepFailed)
    names = "campaign_id", "step_id", "channel", "reason", "credits_released", "failed_at"
    assert fields(event, *names) == dict(
        zip(names, (CAMPAIGN, "s0", "sms", "invalid number", 3, T0 + MINUTE), strict=True)
    )


def test_finishing_the_last_group_records_the_campaign_and_the_time() -> None:
    enrollment = dispatched([step("e0", EMAIL, 0)])
    enrollment.record_failed("e0", "bounced", 1, T0 + MINUTE)
    _failed, finished = enrollment.collect_events()
    assert isinstance(finished, Enrollment.EnrollmentFinished)
    assert (finished.campaign_id, finished.finished_at) == (CAMPAIGN, T0 + MINUTE)


def test_finishing_a_group_records_the_next_group_for_the_campaign() -> None:
    enrollment = dispatched()
    enrollment.record_failed("e0", "bounced", 1, T0)
    enrollment.record_failed("s0", "invalid number", 1, T0 + MINUTE)
    *_, scheduled = enrollment.collect_events()
    assert isinstance(scheduled, Enrollment.GroupScheduled)
    assert fields(scheduled, "campaign_id", "group", "due_at") == {
        "campaign_id": CAMPAIGN,
        "group": 1,
        "due_at": T0 + MINUTE + (1 + 2) * DAY,
    }


def test_a_deferral_records_the_campaign_reason_and_the_due_time_moved_into_the_window() -> None:
    window = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}
    enrollment = dispatched(window=window, timezone="Europe/Paris")  # T0 is 10:00 in Paris
    saturday = datetime(2025, 3, 8, 12, tzinfo=UTC)
    deferred_at = T0 + MINUTE
    due = enrollment.defer("e0", "every sender account is at its daily cap", saturday, deferred_at)
    assert due == datetime(2025, 3, 10, 8, tzinfo=UTC)  # Monday 09:00 CET
    [event] = enrollment.collect_events()
    assert isinstance(event, Enrollment.StepDeferred)
    assert event.timestamp == deferred_at  # when it was deferred, not when it falls due
    assert fields(event, "campaign_id", "step_id", "reason", "due_at") == {
        "campaign_id": CAMPAIGN,
        "step_id": "e0",
        "reason": "every sender account is at its daily cap",
        "due_at": due,
    }


def test_a_cancellation_records_the_campaign_reason_and_time() -> None:
    enrollment = dispatched()
    enrollment.cancel("s0", "campaign paused", T0 + MINUTE)
    [event] = enrollment.collect_events()
    assert isinstance(event, Enrollment.StepCancelled)
    assert fields(event, "campaign_id", "step_id", "reason", "cancelled_at") == {
        "campaign_id": CAMPAIGN,
        "step_id": "s0",
        "reason": "campaign paused",
        "cancelled_at": T0 + MINUTE,
    }


def test_a_withdrawal_records_the_campaign_channel_reason_released_credits_and_time() -> None:
    enrollment = dispatched()
    unit_costs = {**DEFAULT_UNIT_COSTS, SMS: 4}
    withdrawn = enrollment.withdraw(
        {"sms", "voicemail"}, "address suppressed", unit_costs, T0 + MINUTE, cause=WithdrawalCause.SUPPRESSED
    )
    assert [s.id for s in withdrawn] == ["s0", "v1"]
    events = [e for e in enrollment.collect_events() if isinstance(e, Enrollment.StepWithdrawn)]
    names = "campaign_id", "step_id", "channel", "reason", "credits_released", "withdrawn_at", "cause"
    assert [fields(e, *names) for e in events] == [
        dict(
            zip(
                names,
                (CAMPAIGN, "s0", "sms", "address suppressed", 4, T0 + MINUTE, "suppressed"),
                strict=True,
            )
        ),
        dict(
            zip(
                names,
                (CAMPAIGN, "v1", "voicemail", "address suppressed", 1, T0 + MINUTE, "suppressed"),
                strict=True,
            )
        ),
    ]
    assert {e.withdrawal_cause for e in events} == {WithdrawalCause.SUPPRESSED}


def test_a_later_group_whose_sends_were_all_withdrawn_is_skipped() -> None:
    steps = [step("e0", EMAIL, 0), step("s1", SMS, 1), step("e2", EMAIL, 2)]
    enrollment = dispatched(steps)
    enrollment.withdraw(
        {"sms"}, "address suppressed", DEFAULT_UNIT_COSTS, T0, cause=WithdrawalCause.SUPPRESSED
    )
    enrollment.record_failed("e0", "bounced", 1, T0 + MINUTE)
    assert (enrollment.current_group, enrollment.due_at) == (2, T0 + MINUTE + 2 * DAY)


def test_a_group_withdrawn_after_its_due_time_finishes_when_it_is_withdrawn() -> None:
    steps = [step("e0", EMAIL, 0), step("s1", SMS, 1)]
    enrollment = enroll(steps)
    withdrawn_at = T0 + 5 * MINUTE  # group 0 was due at T0
    enrollment.withdraw(
        {"email"}, "address suppressed", DEFAULT_UNIT_COSTS, withdrawn_at, cause=WithdrawalCause.SUPPRESSED
    )
    assert (enrollment.current_group, enrollment.due_at) == (1, withdrawn_at + DAY)


def test_a_group_withdrawn_when_it_falls_due_finishes_at_that_moment() -> None:
    steps = [step("e0", EMAIL, 0), step("s1", SMS, 1)]
    enrollment = enroll(steps)
    enrollment.withdraw_step("e0", "address suppressed", 1, T0, cause=WithdrawalCause.SUPPRESSED)
    assert (enrollment.current_group, enrollment.due_at) == (1, T0 + DAY)


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (lambda e: e.attempt("e0", "sender-1", T0), "step e0 is sent, not dispatched"),
        (lambda e: e.attempt("s0", "sender-1", T0), "step s0 is pending, not dispatched"),
        (lambda e: e.record_sent("e0", "again", 1, T0), "step e0 is sent, not attempted"),
        (lambda e: e.record_failed("e0", "late", 1, T0), "step e0 already has an outcome"),
        (
            lambda e: e.withdraw_step("e0", "suppressed", 1, T0, cause=WithdrawalCause.SUPPRESSED),
            "step e0 already has an outcome",
        ),
        (lambda e: e.cancel("e0", "paused", T0), "step e0 is sent, not in flight"),
        (lambda e: e.cancel("s0", "paused", T0), "step s0 is pending, not in flight"),
        (lambda e: e.defer("e0", "cap", T0, T0), "step e0 is sent; only a step in flight is deferred"),
        (lambda e: e.record_failed("x9", "?", 1, T0), "step x9 is not in this enrollment's plan"),
    ],
    ids=[
        "attempt sent",
        "attempt pending",
        "send twice",
        "fail sent",
        "withdraw sent",
        "cancel sent",
        "cancel pending",
        "defer sent",
        "unknown step",
    ],
)
def test_a_refused_step_command_says_why_and_records_nothing(command, message) -> None:
    enrollment = enroll([step("e0", EMAIL, 0), step("s0", SMS, 1)])
    enrollment.dispatch_due(T0)
    enrollment.attempt("e0", "sender-1", T0)
    enrollment.record_sent("e0", "m-1", 1, T0)
    enrollment.collect_events()
    with pytest.raises(DomainError, match=exactly(message)):
        command(enrollment)
    assert enrollment.collect_events() == []
    assert enrollment.status_of("e0") is StepStatus.SENT


def test_a_send_is_refused_for_a_step_only_dispatched() -> None:
    enrollment = dispatched()
    with pytest.raises(DomainError, match=exactly("step e0 is dispatched, not attempted")):
        enrollment.record_sent("e0", "m-1", 1, T0)


def test_the_first_open_and_the_first_click_of_a_sent_step_record_the_campaign_step_and_time() -> None:
    enrollment = dispatched()
    enrollment.attempt("e0", "account", T0)
    enrollment.record_sent("e0", "m-1", 1, T0)
    enrollment.collect_events()
    assert enrollment.record_open("e0", T0 + MINUTE)
    assert enrollment.record_click("e0", "https://example.com/a", T0 + 2 * MINUTE)
    assert not enrollment.record_open("e0", T0 + 3 * MINUTE)  # only the first of each is kept
    assert not enrollment.record_click("e0", "https://example.com/b", T0 + 3 * MINUTE)
    opened, clicked = enrollment.collect_events()
    assert isinstance(opened, Enrollment.StepOpened) and isinstance(clicked, Enrollment.StepClicked)
    assert fields(opened, "campaign_id", "step_id", "opened_at") == {
        "campaign_id": CAMPAIGN,
        "step_id": "e0",
        "opened_at": T0 + MINUTE,
    }
    assert fields(clicked, "campaign_id", "step_id", "url", "clicked_at") == {
        "campaign_id": CAMPAIGN,
        "step_id": "e0",
        "url": "https://example.com/a",
        "clicked_at": T0 + 2 * MINUTE,
    }


def test_a_send_that_is_not_its_groups_last_leads_to_nothing_more() -> None:
    enrollment = dispatched()
    enrollment.attempt("e0", "sender-1", T0)
    enrollment.record_sent("e0", "m-1", 1, T0 + MINUTE)
    *_, sent = enrollment.collect_events()
    assert fields(sent, "next_group", "next_due_at", "finished") == {
        "next_group": None,
        "next_due_at": None,
        "finished": False,
    }
    assert (enrollment.current_group, enrollment.due_at, enrollment.finished) == (0, T0, False)


def test_the_send_that_ends_a_group_schedules_the_next_in_the_same_event() -> None:
    enrollment = dispatched()
    enrollment.record_failed("e0", "bounced", 1, T0)
    enrollment.attempt("s0", "sender-2", T0)
    enrollment.collect_events()
    enrollment.record_sent("s0", "m-2", 1, T0 + MINUTE)
    [sent] = enrollment.collect_events()  # no GroupScheduled of its own
    assert isinstance(sent, Enrollment.StepSent)
    due = T0 + MINUTE + (1 + 2) * DAY  # a day to group 1 and its two-day WAIT
    assert fields(sent, "next_group", "next_due_at", "finished") == {
        "next_group": 1,
        "next_due_at": due,
        "finished": False,
    }
    assert (enrollment.current_group, enrollment.due_at) == (1, due)
    assert [s.id for s in enrollment.dispatch_due(due)] == ["v1"]


def test_the_send_that_ends_the_enrollment_says_so_in_the_same_event() -> None:
    enrollment = dispatched([step("e0", EMAIL, 0)])
    enrollment.attempt("e0", "sender-1", T0)
    enrollment.collect_events()
    enrollment.record_sent("e0", "m-1", 1, T0 + MINUTE)
    [sent] = enrollment.collect_events()  # no EnrollmentFinished of its own
    assert fields(sent, "next_group", "next_due_at", "finished") == {
        "next_group": None,
        "next_due_at": None,
        "finished": True,
    }
    assert (enrollment.finished, enrollment.finished_at, enrollment.current_group) == (
        True,
        T0 + MINUTE,
        None,
    )
    assert enrollment.dispatch_due(T0 + DAY) == []


def test_the_next_group_scheduled_by_a_send_opens_in_the_contacts_zone() -> None:
    window = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}
    enrollment = enroll([step("e0", EMAIL, 0), step("e1", EMAIL, 1)], window=window, timezone="Asia/Tokyo")
    due = enrollment.due_at
    assert due == datetime(
        2025, 3, 4, 0, 0, tzinfo=UTC
    )  # Monday 18:00 in Tokyo is after hours: Tuesday 09:00
    enrollment.dispatch_due(due)
    enrollment.attempt("e0", "sender-1", due)
    enrollment.record_sent("e0", "m-1", 1, due + timedelta(hours=1))  # Tuesday 10:00 in Tokyo
    *_, sent = enrollment.collect_events()
    # A day later is Wednesday 10:00 in Tokyo, inside its window (01:00 UTC, which in UTC is not).
    assert (sent.next_group, sent.next_due_at) == (1, datetime(2025, 3, 5, 1, 0, tzinfo=UTC))
