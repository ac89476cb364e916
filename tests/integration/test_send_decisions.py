"""What the send path decides, asserted exactly: due times in the contact's zone and window, giving
up after the fifth transient failure, deferring at the daily cap to the next reset, settling again
after a lost position, skipping a redelivered dispatch of a step already sent, one brand's
suppression list never touching another brand's launch, and texts kept to their brand's quiet hours.

Each test holds the clock (tests/integration/desk.py): no background role runs, every use case is
called at a chosen moment, so a due time off by a minute or a retry storm fails the test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from commands.sending.providers import SendOutcome
from commands.sending.send_outcomes import MAX_TRANSIENT_TRIES, SendReport
from domain.enrollment import Enrollment, StepStatus
from tests.api.api_support import service_on_own_database
from tests.integration.desk import ROLES, ScriptedProvider, desk, desk_for_a_new_brand
from tests.support import Client

SATURDAY_NOON = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
MONDAY_TEN = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
ONE_EMAIL = [{"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}]
TWO_GROUPS = [*ONE_EMAIL, {"type": "EMAIL", "group": 1, "subject": "Again", "body": "Hello again"}]
BUSY = SendOutcome(error="421 try again later")


@pytest.fixture(scope="module")
def service(server_url):
    """One service for the module: each test works as a brand of its own on it."""
    with service_on_own_database(server_url, roles=ROLES) as running:
        yield running


def local(day: datetime, hour: int, zone: str) -> datetime:
    """`hour`:00 on `day`'s date in `zone`, as a UTC instant (computed apart from the window code)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def test_due_times_follow_each_contacts_zone_and_the_campaigns_window_through_launch_and_enrolment(
    service,
):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    steps = [
        *ONE_EMAIL,
        {"type": "WAIT", "group": 1, "wait_days": 4},
        {"type": "EMAIL", "group": 1, "subject": "Again", "body": "Hello again"},
    ]
    window = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}
    people = [
        {"email": "ann@example.com", "timezone": "Asia/Tokyo"},
        {"email": "bob@example.com"},  # no zone of his own: the campaign's
    ]
    campaign = d.campaign(people, steps, timezone="America/New_York", sending_window=window)
    ann, bob = d.launch(campaign, SATURDAY_NOON)

    monday = datetime(2026, 12, 7, tzinfo=UTC)
    ann_due, bob_due = local(monday, 9, "Asia/Tokyo"), local(monday, 9, "America/New_York")
    assert (ann_due, bob_due) == (
        datetime(2026, 12, 7, 0, tzinfo=UTC),
        datetime(2026, 12, 7, 14, tzinfo=UTC),
    )
    # The first group is scheduled with the enrollment, in each contact's zone.
    assert [(e.group, e.due_at) for e in d.events(ann, Enrollment.ContactEnrolled)] == [(0, ann_due)]
    assert [(e.group, e.due_at) for e in d.events(bob, Enrollment.ContactEnrolled)] == [(0, bob_due)]
    assert d.events(ann, Enrollment.GroupScheduled) == d.events(bob, Enrollment.GroupScheduled) == []

    assert d.dispatch([ann, bob], ann_due - timedelta(minutes=1)) == []
    first = d.dispatch([ann, bob], ann_due + timedelta(minutes=3))
    assert [x.enrollment_id for x in first] == [ann]
    assert d.send(first, ann_due + timedelta(minutes=3)).sent == 1
    assert d.dispatch([bob], bob_due - timedelta(minutes=1)) == []
    assert d.send(d.dispatch([bob], bob_due), bob_due).sent == 1

    # Group 1 is one day plus a four-day WAIT after group 0: a Saturday, so the next Monday 09:00.
    next_monday = monday + timedelta(days=7)
    # The send that ends group 0 schedules group 1.
    [ann_sent], [bob_sent] = d.events(ann, Enrollment.StepSent), d.events(bob, Enrollment.StepSent)
    assert (ann_sent.next_group, ann_sent.next_due_at) == (1, local(next_monday, 9, "Asia/Tokyo"))
    assert (bob_sent.next_group, bob_sent.next_due_at) == (1, local(next_monday, 9, "America/New_York"))


def test_the_fifth_transient_failure_fails_the_step_releases_its_credit_and_gives_the_quota_back(
    service,
):
    d = desk_for_a_new_brand(service, ScriptedProvider([BUSY]))
    d.client.sender("email", "sales@brand.example")
    campaign = d.campaign([{"email": "ann@example.com"}], ONE_EMAIL)
    [ann] = d.launch(campaign, MONDAY_TEN)
    now = MONDAY_TEN
    for attempt in range(1, MAX_TRANSIENT_TRIES + 1):
        dispatches = d.dispatch([ann], now)
        assert len(dispatches) == 1, f"attempt {attempt} was not dispatched at its due time"
        report = d.send(dispatches, now)
        assert d.sends_today() == [0], "the quota of a send that did not happen comes back"
        if attempt < MAX_TRANSIENT_TRIES:
            assert (report.deferred, report.failed) == (1, 0)
            assert d.enrollment(ann).status_of(dispatches[0].step_id) is not StepStatus.FAILED
            now = d.events(ann, Enrollment.StepDeferred)[-1].due_at
    assert (report.deferred, report.failed) == (0, 1)
    assert len(d.provider.sent) == 5 == MAX_TRANSIENT_TRIES
    [failed] = d.events(ann, Enrollment.StepFailed)
    assert failed.reason == "gave up after 5 transient errors: 421 try again later"
    assert failed.credits_released == 1
    assert d.dispatch([ann], now + timedelta(days=30)) == []  # nothing is tried a sixth time

    d.settle(now)
    reservation = d.reservation(campaign)
    assert (reservation.consumed, reservation.released, reservation.outstanding) == (0, 1, 0)


def test_a_step_at_the_daily_cap_is_deferred_once_to_the_next_midnight_utc(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example", daily_limit=1)
    people = [{"email": f"c{i}@example.com"} for i in range(3)]
    campaign = d.campaign(people, ONE_EMAIL)
    enrollments = d.launch(campaign, MONDAY_TEN)
    report = d.send(d.dispatch(enrollments, MONDAY_TEN), MONDAY_TEN)
    assert (report.sent, report.deferred) == (1, 2)

    tuesday = datetime(2026, 12, 8, tzinfo=UTC)
    deferrals = {e: d.events(e, Enrollment.StepDeferred) for e in enrollments}
    waiting = [e for e, found in deferrals.items() if found]
    assert len(waiting) == 2
    assert all([x.due_at for x in deferrals[e]] == [tuesday] for e in waiting)
    assert all(deferrals[e][0].reason == "every sender account is at its daily cap" for e in waiting)

    for later in (MONDAY_TEN + timedelta(minutes=1), tuesday - timedelta(seconds=1)):
        assert d.dispatch(enrollments, later) == []  # no retry storm before the reset
    assert all(len(d.events(e, Enrollment.StepDeferred)) == 1 for e in waiting)
    assert len(d.dispatch(enrollments, tuesday)) == 2


def test_settling_again_after_the_position_was_lost_changes_no_total(database_url):
    failing = ScriptedProvider(
        [SendOutcome(provider_message_id="m"), SendOutcome(error="no", permanent=True)]
    )
    with desk(database_url, failing) as d:
        d.client.sender("email", "sales@brand.example")
        campaign = d.campaign([{"email": "ann@example.com"}, {"email": "bob@example.com"}], TWO_GROUPS)
        enrollments = d.launch(campaign, MONDAY_TEN)
        report = d.send(d.dispatch(enrollments, MONDAY_TEN), MONDAY_TEN)
        assert (report.sent, report.failed) == (1, 1)
        d.settle(MONDAY_TEN)
        settled = d.reservation(campaign)
        balance = d.store.ledger(d.client.brand_id).balance
        assert (settled.reserved, settled.consumed, settled.released, settled.outstanding) == (4, 1, 1, 2)

        d.service.db.execute("UPDATE settlement_position SET position = 0")  # as if it crashed before saving
        d.settle(MONDAY_TEN)
        again = d.reservation(campaign)
        assert (again.consumed, again.released, again.outstanding) == (1, 1, 2)
        assert d.store.ledger(d.client.brand_id).balance == balance


def test_a_redelivered_dispatch_of_a_step_already_sent_is_skipped_and_claims_no_quota(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    campaign = d.campaign([{"email": "ann@example.com"}], ONE_EMAIL)
    [ann] = d.launch(campaign, MONDAY_TEN)
    dispatches = d.dispatch([ann], MONDAY_TEN)
    assert d.send(dispatches, MONDAY_TEN).sent == 1
    assert d.sends_today() == [1]

    again = d.send(dispatches, MONDAY_TEN + timedelta(minutes=5))
    assert (again.skipped, again.sent) == (1, 0)
    assert d.sends_today() == [1]
    assert len(d.provider.sent) == 1 and d.provider.lookups == 0
    assert len(d.events(ann, Enrollment.StepAttempted)) == 1


def test_another_brands_suppression_list_does_not_touch_this_brands_launch(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    other = Client(d.service)
    other.ok(other.post("/v1/suppressions", {"address": "ann@example.com", "reason": "theirs"}), 201)
    campaign = d.campaign([{"email": "ann@example.com"}, {"email": "bob@example.com"}], ONE_EMAIL)
    enrollments = d.launch(campaign, MONDAY_TEN)
    assert len(enrollments) == 2 and d.reservation(campaign).reserved == 2
    assert d.send(d.dispatch(enrollments, MONDAY_TEN), MONDAY_TEN).sent == 2
    assert sorted(m.to for m in d.provider.sent) == ["ann@example.com", "bob@example.com"]


def test_a_text_due_late_at_night_in_the_contacts_zone_waits_for_eight_there_and_an_email_does_not(service):
    d = desk_for_a_new_brand(service)
    hours = {"allowed_from": "08:00", "allowed_until": "21:00", "help_text": "Reply STOP to stop"}
    d.client.ok(d.client.http.put("/v1/messaging-settings", json=hours))  # the defaults, said aloud
    d.client.sender("email", "sales@brand.example")
    d.client.sender("sms", "+14155550100")
    steps = [*ONE_EMAIL, {"type": "SMS", "group": 0, "body": "Hello"}]
    people = [{"email": "ann@example.com", "phone": "+14155550123", "timezone": "America/New_York"}]
    late = local(MONDAY_TEN, 22, "America/New_York")  # 03:00 UTC on Tuesday: quiet in New York
    [ann] = d.launch(d.campaign(people, steps), late)
    assert d.send(d.dispatch([ann], late), late) == SendReport(sent=1, deferred=1)
    assert [m.channel for m in d.provider.sent] == ["email"]
    [waiting] = d.events(ann, Enrollment.StepDeferred)
    tuesday = MONDAY_TEN + timedelta(days=1)
    assert waiting.due_at == local(tuesday, 8, "America/New_York")  # 13:00 UTC, not 08:00 UTC


def test_a_second_step_to_the_same_contact_in_one_batch_waits_a_moment_and_two_texts_wait_for_daytime(
    service,
):
    d = desk_for_a_new_brand(service)
    hours = {"allowed_from": "08:00", "allowed_until": "21:00", "help_text": "Reply STOP to stop"}
    d.client.ok(d.client.http.put("/v1/messaging-settings", json=hours))
    d.client.sender("email", "sales@brand.example")
    d.client.sender("sms", "+14155550100")
    second = {"type": "EMAIL", "group": 0, "subject": "Also", "body": "And this"}
    steps = [*ONE_EMAIL, second, {"type": "SMS", "group": 0, "body": "Hello"}]
    people = [
        {"email": f"{name}@example.com", "phone": f"+1415555012{i}", "timezone": "America/New_York"}
        for i, name in enumerate(("ann", "bob"))
    ]
    late = local(MONDAY_TEN, 22, "America/New_York")
    ann, bob = d.launch(d.campaign(people, steps), late)
    # Per contact: one email goes, the other waits a moment, the text waits for 08:00 there.
    assert d.send(d.dispatch([ann, bob], late), late) == SendReport(sent=2, deferred=4)
    for enrollment_id in (ann, bob):
        reasons = sorted((e.reason, e.due_at) for e in d.events(enrollment_id, Enrollment.StepDeferred))
        assert reasons == [
            ("another step to this contact is being sent", late),
            (
                "quiet hours: texts and calls wait for the contact's daytime",
                local(MONDAY_TEN + timedelta(days=1), 8, "America/New_York"),
            ),
        ]
    assert sorted(m.to for m in d.provider.sent) == ["ann@example.com", "bob@example.com"]


def test_a_text_waits_for_the_hours_its_brand_chose_not_for_the_default_ones(service):
    d = desk_for_a_new_brand(service)
    hours = {"allowed_from": "10:00", "allowed_until": "18:00", "help_text": "Reply STOP to stop"}
    d.client.ok(d.client.http.put("/v1/messaging-settings", json=hours))
    d.client.sender("sms", "+14155550100")
    people = [{"phone": "+14155550123", "timezone": "America/New_York"}]
    nine = local(MONDAY_TEN, 9, "America/New_York")  # inside the default hours, before the brand's
    [ann] = d.launch(d.campaign(people, [{"type": "SMS", "group": 0, "body": "Hello"}]), nine)
    assert d.send(d.dispatch([ann], nine), nine) == SendReport(deferred=1)
    assert d.provider.sent == []
    [waiting] = d.events(ann, Enrollment.StepDeferred)
    assert waiting.due_at == local(MONDAY_TEN, 10, "America/New_York")


def test_each_decision_is_recorded_at_the_moment_of_the_send_not_of_its_dispatch(service):
    """Dispatched at 22:00 in New York, taken by the worker seven minutes later: the attempts, the
    deferral at the cap, the short wait of a contact's step in a second campaign and a text's wait
    for daytime all carry the worker's moment, not the dispatch's (each is the first thing its
    enrollment records in the batch, so no earlier decision lends it its time)."""
    d = desk_for_a_new_brand(service)
    hours = {"allowed_from": "08:00", "allowed_until": "21:00", "help_text": "Reply STOP to stop"}
    d.client.ok(d.client.http.put("/v1/messaging-settings", json=hours))
    d.client.sender("email", "sales@brand.example", daily_limit=2)
    d.client.sender("sms", "+14155550100")
    late = local(MONDAY_TEN, 22, "America/New_York")
    emails = [{"email": f"{name}@example.com"} for name in ("ann", "bob", "dan")]
    ann_a, bob_a, dan_a = d.launch(d.campaign(emails, ONE_EMAIL), late)
    [ann_b] = d.launch(d.campaign(emails[:1], ONE_EMAIL), late)  # ann again, in a second campaign
    cy = {"phone": "+14155550131", "timezone": "America/New_York"}
    [cy_c] = d.launch(d.campaign([cy], [{"type": "SMS", "group": 0, "body": "Hello"}]), late)
    enrollments = [ann_a, bob_a, dan_a, ann_b, cy_c]
    dispatches = d.dispatch(enrollments, late)
    taken = late + timedelta(minutes=7)
    assert d.send(dispatches, taken) == SendReport(sent=2, deferred=3)

    attempts = [
        (e.attempted_at, e.timestamp) for x in enrollments for e in d.events(x, Enrollment.StepAttempted)
    ]
    assert attempts == [(taken, taken), (taken, taken)]
    deferrals = {
        x: [(e.reason, e.timestamp) for e in d.events(x, Enrollment.StepDeferred)] for x in enrollments
    }
    assert deferrals == {
        ann_a: [],
        bob_a: [],
        dan_a: [("every sender account is at its daily cap", taken)],
        ann_b: [("another step to this contact is being sent", taken)],
        cy_c: [("quiet hours: texts and calls wait for the contact's daytime", taken)],
    }
