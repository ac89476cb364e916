"""Nothing of a suspended brand is sent, and nothing of it is lost: its due steps wait (not failed,
withdrawn or released) at the scheduler, a dispatch already queued when it was suspended goes back
to wait at the worker with its credit kept reserved, a campaign enrolled meanwhile dispatches
nothing, and reinstating it lets its campaigns go on where they stood. The test holds the clock
(tests/integration/desk.py); the scheduler's own pass (FollowUpProcessor) is called at chosen
moments on real PostgreSQL, and other brands' steps go out meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from commands.campaigns.launch_campaign import launch_campaign
from commands.credits.brand_standing import reinstate_brand, suspend_brand
from commands.sending.enroll_contacts import enroll_pending_campaigns
from consumers.timed_jobs import FollowUpProcessor
from domain.enrollment import Enrollment, StepStatus
from tests.api.api_support import service_on_own_database
from tests.integration.desk import ROLES, Desk, desk_for_a_new_brand
from tests.support import eventually

T0 = datetime(2026, 12, 7, 10, tzinfo=UTC)
FIRST = {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}
FOLLOW_UP = {"type": "EMAIL", "group": 1, "subject": "Again", "body": "Hello again"}


@pytest.fixture(scope="module")
def service(server_url):
    with service_on_own_database(server_url, roles=ROLES) as running:
        yield running


def suspend(d: Desk, now: datetime) -> None:
    suspend_brand(d.store, d.service.db, d.client.brand_id, "invoice unpaid", "ops", now)


def reinstate(d: Desk, now: datetime) -> None:
    reinstate_brand(d.store, d.service.db, d.client.brand_id, "ops", now)


def scheduler_pass(d: Desk, now: datetime, batch: int = 500) -> int:
    return FollowUpProcessor(d.store, d.service.db, lambda: now, batch).tick()


def waiting_in_due_steps(d: Desk, enrollment_id: UUID) -> bool:
    return (
        d.service.db.fetch_one("SELECT 1 FROM due_steps WHERE enrollment_id = %s", (enrollment_id,))
        is not None
    )


def test_a_due_step_waits_while_its_brand_is_suspended_and_is_sent_after_reinstatement(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    campaign = d.campaign([{"email": "ann@example.com"}], [FIRST, FOLLOW_UP])
    [ann] = d.launch(campaign, T0)
    assert d.send(d.dispatch([ann], T0), T0).sent == 1
    other = desk_for_a_new_brand(service)  # another brand, due a minute after it
    other.client.sender("email", "sales@other.example")
    minute = T0 + timedelta(minutes=1)
    [bob] = other.launch(other.campaign([{"email": "bob@example.com"}], [FIRST, FOLLOW_UP]), minute)
    assert other.send(other.dispatch([bob], minute), minute).sent == 1

    suspend(d, T0 + timedelta(hours=1))
    due = T0 + timedelta(days=1, hours=1)
    eventually(lambda: waiting_in_due_steps(d, ann) and waiting_in_due_steps(other, bob))
    scheduler_pass(d, due, batch=1)  # the waiting step, due first, holds back nobody else's
    assert len(other.events(bob, Enrollment.StepDispatched)) == 1  # Bob's follow-up, not Ann's
    enrollment = d.enrollment(ann)
    follow_up = enrollment.sends_in(1)[0].id
    assert enrollment.status_of(follow_up) is StepStatus.PENDING  # waits: not failed, withdrawn or released
    assert d.events(ann, Enrollment.StepDispatched) == []
    assert d.reservation(campaign).released == 0  # its credit stays reserved
    scheduler_pass(d, due + timedelta(days=30))  # however long it is suspended
    assert d.events(ann, Enrollment.StepDispatched) == []

    reinstate(d, due + timedelta(days=31))
    later = due + timedelta(days=31, minutes=1)
    scheduler_pass(d, later)
    assert len(d.events(ann, Enrollment.StepDispatched)) == 1
    assert d.send(d.dispatch([ann], later), later).sent == 1
    assert [m.to for m in d.provider.sent] == ["ann@example.com", "ann@example.com"]


def test_a_dispatch_queued_before_the_suspension_goes_back_to_wait_with_its_credit_kept(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    campaign = d.campaign([{"email": "ann@example.com"}], [FIRST])
    [ann] = d.launch(campaign, T0)
    queued = d.dispatch([ann], T0)  # dispatched with the enrollment, on its way to the worker
    assert len(queued) == 1

    suspend(d, T0 + timedelta(seconds=1))
    report = d.send(queued, T0 + timedelta(seconds=2))
    assert (report.sent, report.cancelled, report.failed) == (0, 1, 0) and d.provider.sent == []
    [cancelled] = d.events(ann, Enrollment.StepCancelled)
    assert cancelled.reason == "brand suspended"
    assert d.reservation(campaign).outstanding == 1  # kept reserved, like a pause
    assert d.sends_today() == [0]  # no quota taken
    eventually(lambda: waiting_in_due_steps(d, ann))
    scheduler_pass(d, T0 + timedelta(hours=1))
    assert len(d.events(ann, Enrollment.StepDispatched)) == 0  # its only dispatch came with the enrollment

    reinstate(d, T0 + timedelta(hours=2))
    scheduler_pass(d, T0 + timedelta(hours=2))
    assert len(d.events(ann, Enrollment.StepDispatched)) == 1  # dispatched again
    assert d.send(d.dispatch([ann], T0 + timedelta(hours=2)), T0 + timedelta(hours=2)).sent == 1
    assert d.reservation(campaign).outstanding == 1  # consumed when settlement runs


def test_a_campaign_enrolled_while_its_brand_is_suspended_dispatches_nothing_until_reinstated(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    campaign = d.campaign([{"email": "ann@example.com"}, {"email": "bea@example.com"}], [FIRST])
    launch_campaign(d.store, d.service.db, d.client.brand_id, campaign, T0)
    suspend(d, T0)
    while enroll_pending_campaigns(d.store, d.service.db, T0):
        pass
    rows = d.service.db.fetch_all(
        "SELECT contact_id FROM launch_audiences WHERE campaign_id = %s", (campaign,)
    )
    ids = [Enrollment.create_id(campaign, row["contact_id"]) for row in rows]
    assert all(not d.events(i, Enrollment.ContactEnrolled)[0].dispatched for i in ids)
    assert d.dispatch(ids, T0) == []
    reinstate(d, T0 + timedelta(minutes=5))
    eventually(lambda: all(waiting_in_due_steps(d, i) for i in ids))
    scheduler_pass(d, T0 + timedelta(minutes=5))
    assert all(len(d.events(i, Enrollment.StepDispatched)) == 1 for i in ids)
    assert d.send(d.dispatch(ids, T0 + timedelta(minutes=5)), T0 + timedelta(minutes=5)).sent == 2
