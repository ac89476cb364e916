"""One clock in the domain: an event occurs at the time its command gives (never the machine's wall
clock that eventsourcing would read), a consequence at the time of its cause, and never before the
event before it; what an aggregate reports is its events' own times, old events' included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from eventsourcing.application import project_aggregate

from domain.campaign import Campaign
from domain.credit_ledger import CreditLedger, Plan
from domain.enrollment import Enrollment
from domain.steps import Step, StepType

T0 = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)  # years from the wall clock of any test run
SECOND = timedelta(seconds=1)
EMAIL = Step("e0", StepType.EMAIL, 0, order=0, subject="s", body="b")
LATER = Step("e1", StepType.EMAIL, 1, order=0, subject="s", body="b")


def campaign() -> Campaign:
    return Campaign.create(uuid4(), uuid4(), "Q4", [EMAIL, LATER], created_at=T0)


def test_each_campaign_event_occurs_at_the_time_its_command_gave() -> None:
    draft = campaign()
    draft.launch(T0 + SECOND, 2)
    draft.pause(T0 + 2 * SECOND)
    draft.resume(T0 + 3 * SECOND)
    draft.archive(T0 + 4 * SECOND)
    events = draft.collect_events()
    assert [e.timestamp for e in events] == [T0 + n * SECOND for n in range(5)]
    assert (draft.created_at, draft.launched_at, draft.archived_at) == (T0, T0 + SECOND, T0 + 4 * SECOND)


def test_a_time_before_the_last_event_is_moved_up_to_it_field_and_all() -> None:
    draft = campaign()
    draft.launch(T0 + SECOND, 2)
    draft.pause(T0 - timedelta(hours=1))  # a retried decision, or a process whose clock lags
    *_, launched, paused = draft.collect_events()
    assert paused.timestamp == paused.paused_at == launched.timestamp == T0 + SECOND


def test_a_consequence_occurs_with_its_cause_and_a_deferral_when_it_was_deferred() -> None:
    enrollment = Enrollment.enroll(uuid4(), uuid4(), uuid4(), {"email": "a@b.example"}, [EMAIL, LATER], T0)
    assert enrollment is not None
    enrollment.dispatch_due(T0 + SECOND)
    enrollment.attempt("e0", "sender", T0 + 2 * SECOND)
    enrollment.record_failed("e0", "refused", 1, T0 + 3 * SECOND)  # schedules group 1 a day later
    enrollment.dispatch_due(T0 + 2 * timedelta(days=1))
    enrollment.defer("e1", "cap", T0 + timedelta(days=3), T0 + 2 * timedelta(days=1) + SECOND)
    events = enrollment.collect_events()
    assert [(type(e).__name__, e.timestamp - T0) for e in events] == [
        ("ContactEnrolled", timedelta(0)),
        ("StepDispatched", SECOND),
        ("StepAttempted", 2 * SECOND),
        ("StepFailed", 3 * SECOND),
        ("GroupScheduled", 3 * SECOND),  # its due_at lies a day ahead: that is the schedule's time
        ("StepDispatched", timedelta(days=2)),
        ("StepDeferred", timedelta(days=2) + SECOND),
    ]


def test_a_ledger_opens_and_grants_its_plan_at_the_time_given() -> None:
    ledger = CreditLedger.open(uuid4(), Plan.BASIC, T0)
    ledger.reserve(uuid4(), 5, T0 + SECOND)
    assert [e.timestamp for e in ledger.collect_events()] == [T0, T0, T0 + SECOND]


def test_a_campaign_stored_before_its_fields_agreed_with_its_events_reports_the_events_times() -> None:
    """Before, the fields held the use case's `now` and the timestamps the wall clock a moment later."""
    draft = campaign()
    draft.launch(T0 + SECOND, 2)
    draft.archive(T0 + 2 * SECOND)
    drift = timedelta(milliseconds=3)
    old = [
        type(e)(**{**vars(e), "timestamp": e.timestamp + drift})  # type: ignore[call-arg]
        for e in draft.collect_events()
    ]
    replayed = project_aggregate(None, old)
    assert isinstance(replayed, Campaign)
    assert (replayed.created_at, replayed.launched_at, replayed.archived_at) == (
        T0 + drift,
        T0 + SECOND + drift,
        T0 + 2 * SECOND + drift,
    )
