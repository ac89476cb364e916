"""A campaign archived or paused while its steps are being sent: every message that went out is
paid for exactly once, nothing more goes out, and the credit audit stays clean.

The worker records each attempt, then calls the provider; archive may land at any moment between.
A step already at the provider keeps its credit reserved until its outcome is known (consumed if it
was sent), and a step not yet at the provider is not sent at all. A text redelivered after a crash
keeps the contact's quiet hours. The clock is in the test's hand (tests/integration/desk.py).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import psycopg
import pytest

from commands.campaigns.campaign_lifecycle import archive_campaign, pause_campaign, resume_campaign
from commands.credits.brand_standing import suspend_brand
from commands.sending.messaging_settings import change_messaging_settings
from commands.sending.provider_calls import CampaignWatch
from commands.sending.send_outcomes import SendReport
from commands.sending.send_steps import send_dispatches
from consumers.timed_jobs import Sweeper
from domain.enrollment import Enrollment, StepStatus
from projections.history.credit_audit import audit_brand
from runtime.audit_report import as_json
from tests.api.api_support import service_on_own_database
from tests.integration.desk import LOST, ROLES, ScriptedProvider, desk_for_a_new_brand
from tests.integration.test_send_outcomes import HeldBeforeItsStepLocks, WorkerDied, cut_short, dies_mid_call
from tests.support import eventually

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
ONE_EMAIL = [{"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}]
PEOPLE = [{"email": "ann@example.com"}, {"email": "bob@example.com"}, {"email": "cy@example.com"}]
LEASE = timedelta(minutes=10)


@pytest.fixture(scope="module")
def service(server_url):
    with service_on_own_database(server_url, roles=ROLES) as running:
        yield running


def audit_violations(d) -> list[str]:
    with psycopg.connect(d.service.db.url) as conn:
        return [str(v) for v in audit_brand(d.store, conn, d.client.brand_id).ledger.violations]


def credits(d, campaign_id) -> tuple[int, int, int, int]:
    r = d.reservation(campaign_id)
    return r.reserved, r.consumed, r.released, r.outstanding


def send_stopped_between_phases(d, dispatches, stop) -> list[SendReport]:
    """Send `dispatches` with `stop()` run at the one moment between the worker's two phases: every
    attempt recorded, no provider called yet. The reports of the send."""
    held = HeldBeforeItsStepLocks(d.service.db.url)
    reports: list[SendReport] = []
    worker = threading.Thread(
        target=lambda: reports.append(
            send_dispatches(d.store, held, {"sandbox": d.provider}, dispatches, lambda: NOW)
        )
    )
    try:
        worker.start()
        assert held.reached.wait(30)
        stop()
    finally:
        held.go.set()
        worker.join(30)
        held.close()
    return reports


def test_sends_at_the_provider_when_their_campaign_is_archived_are_paid_for_once_each(service):
    """The review's case: archive as soon as the first email is at the provider. Every email
    already past its last check goes out, and each is consumed, not released for free."""
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    campaign = d.campaign(PEOPLE, ONE_EMAIL)
    enrollments = d.launch(campaign, NOW)

    def archive_mid_call(_message) -> None:
        if len(d.provider.sent) == 1:  # the first call: archive and settle while it is out
            archive_campaign(d.store, d.client.brand_id, campaign, NOW)
            d.settle(NOW)

    d.provider.during = archive_mid_call
    assert d.send(d.dispatch(enrollments, NOW), NOW) == SendReport(sent=3)
    d.settle(NOW)

    assert len(d.provider.sent) == 3
    assert credits(d, campaign) == (3, 3, 0, 0)
    assert audit_violations(d) == []


def test_steps_attempted_but_not_yet_called_when_their_campaign_is_archived_are_not_sent(service):
    """Archive lands between the attempt and the call: the worker reads the campaign again and
    sends nothing; the steps are cancelled and their credit comes back."""
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    campaign = d.campaign(PEOPLE, ONE_EMAIL)
    enrollments = d.launch(campaign, NOW)
    kept: list[tuple[int, int, int, int]] = []

    def archive() -> None:
        archive_campaign(d.store, d.client.brand_id, campaign, NOW)
        d.settle(NOW)
        kept.append(credits(d, campaign))

    reports = send_stopped_between_phases(d, d.dispatch(enrollments, NOW), archive)
    assert kept == [(3, 0, 0, 3)]  # kept while the steps may be at the provider
    d.settle(NOW)

    assert reports == [SendReport(cancelled=3)]
    assert d.provider.sent == []
    for enrollment in enrollments:
        [cancelled] = d.events(enrollment, Enrollment.StepCancelled)
        assert cancelled.reason == "withheld: the campaign is not active"
    assert credits(d, campaign) == (3, 0, 3, 0)
    assert audit_violations(d) == []


def test_steps_attempted_before_a_pause_are_not_sent_and_go_out_once_on_resume(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    campaign = d.campaign(PEOPLE[:1], ONE_EMAIL)
    [ann] = d.launch(campaign, NOW)
    dispatches = d.dispatch([ann], NOW)
    send_stopped_between_phases(
        d, dispatches, lambda: pause_campaign(d.store, d.client.brand_id, campaign, NOW)
    )
    assert d.provider.sent == []
    assert d.enrollment(ann).status_of(dispatches[0].step_id) is StepStatus.CANCELLED
    d.settle(NOW)
    assert credits(d, campaign) == (1, 0, 0, 1)  # a pause keeps the credit for the resume

    later = NOW + timedelta(minutes=5)
    resume_campaign(d.store, d.client.brand_id, campaign, later)
    assert d.send(d.dispatch([ann], later), later) == SendReport(sent=1)
    assert d.provider.lookups == 1  # asked first, since it was attempted before
    assert len(d.provider.sent) == 1


def test_steps_attempted_before_their_brand_is_suspended_wait_unsent_with_their_credit(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    campaign = d.campaign(PEOPLE[:1], ONE_EMAIL)
    [ann] = d.launch(campaign, NOW)
    dispatches = d.dispatch([ann], NOW)

    def suspend() -> None:
        suspend_brand(d.store, d.service.db, d.client.brand_id, "unpaid invoice", "test", NOW)

    send_stopped_between_phases(d, dispatches, suspend)
    assert d.provider.sent == []
    assert d.enrollment(ann).status_of(dispatches[0].step_id) is StepStatus.CANCELLED
    d.settle(NOW)
    assert credits(d, campaign) == (1, 0, 0, 1)  # waits with its credit, as on a pause


def test_a_send_whose_answer_was_lost_before_its_campaign_was_archived_is_found_and_paid_for(service):
    """The provider took it but the answer never came back; the step waits to be asked about.
    Archive keeps its credit; the sweeper has the provider asked, the send is found, recorded
    and consumed, and nothing is sent again."""
    d = desk_for_a_new_brand(service, ScriptedProvider([LOST]))
    d.client.sender("email", "sales@brand.example")
    campaign = d.campaign(PEOPLE[:2], ONE_EMAIL)
    ann, bob = d.launch(campaign, NOW)
    assert d.send(d.dispatch([ann], NOW), NOW) == SendReport(deferred=1)  # bob's not yet delivered...
    archive_campaign(d.store, d.client.brand_id, campaign, NOW)
    d.settle(NOW)
    assert credits(d, campaign) == (2, 0, 1, 1)  # ...so his credit comes back; ann's is kept
    with psycopg.connect(d.service.db.url) as conn:
        report = json.loads(json.dumps(as_json(audit_brand(d.store, conn, d.client.brand_id)), default=str))
    [figures] = [c for c in report["campaigns"] if c["campaign_id"] == str(campaign)]
    assert (figures["held_at_close"], figures["held_waiting"], figures["outstanding"]) == (1, 1, 1)
    assert report["violations"] == []

    eventually(
        lambda: (
            d.service.db.fetch_one("SELECT status FROM campaign_summaries WHERE id = %s", (campaign,))[
                "status"
            ]
            == "ARCHIVED"
        )
    )
    sweeper = Sweeper(d.store, d.service.db, lambda: NOW + LEASE, LEASE.total_seconds())
    assert sweeper.tick() == 1
    # ann's redispatch is asked about and found; bob's late delivery is cancelled, never sent
    assert d.send(d.dispatch([ann, bob], NOW + LEASE), NOW + LEASE) == SendReport(sent=1, cancelled=1)
    d.settle(NOW + LEASE)

    assert len(d.provider.sent) == 1 and d.provider.lookups == 1
    assert len(d.events(ann, Enrollment.StepSent)) == 1
    assert credits(d, campaign) == (2, 1, 1, 0)
    assert audit_violations(d) == []
    assert sweeper.tick() == 0  # nothing left to ask about


def test_a_step_at_the_provider_that_never_got_it_releases_its_credit_after_the_archive(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    campaign = d.campaign(PEOPLE[:1], ONE_EMAIL)
    [ann] = d.launch(campaign, NOW)
    cut_short(d, d.dispatch([ann], NOW))  # the worker died inside the call; the provider has nothing
    archive_campaign(d.store, d.client.brand_id, campaign, NOW)
    d.settle(NOW)
    assert credits(d, campaign) == (1, 0, 0, 1)

    eventually(
        lambda: (
            d.service.db.fetch_one("SELECT status FROM campaign_summaries WHERE id = %s", (campaign,))[
                "status"
            ]
            == "ARCHIVED"
        )
    )
    later = NOW + LEASE
    assert Sweeper(d.store, d.service.db, lambda: later, LEASE.total_seconds()).tick() == 1
    assert d.send(d.dispatch([ann], later), later) == SendReport(cancelled=1)
    d.settle(later)

    assert len(d.provider.sent) == 1  # the one call the crash cut short; nothing since
    assert credits(d, campaign) == (1, 0, 1, 0)
    assert audit_violations(d) == []


def test_a_text_asked_about_after_a_crash_outside_its_brands_hours_waits_for_the_morning(service):
    """The text was attempted in the afternoon and the worker died mid-call (the provider never
    got it); its redelivery comes at 19:00 in the contact's zone, after the brand's own hours
    (10:00 to 18:00) though inside the default ones: asked about, found nowhere, and deferred to
    10:00 there, not sent in the evening."""
    d = desk_for_a_new_brand(service)
    d.client.sender("sms", "+14155550199")
    change_messaging_settings(d.store, d.service.db, d.client.brand_id, "10:00", "18:00", None, NOW)
    ann = {"phone": "+14155550100", "timezone": "America/New_York"}
    afternoon = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)  # 14:00 in New York
    [enrollment] = d.launch(d.campaign([ann], [{"type": "SMS", "group": 0, "body": "hi"}]), afternoon)
    dispatches = d.dispatch([enrollment], afternoon)
    d.provider.during = dies_mid_call
    with pytest.raises(WorkerDied):
        d.send(dispatches, afternoon)
    d.provider.during = None

    evening = datetime(2026, 12, 8, 0, 0, tzinfo=UTC)  # 19:00 in New York
    assert d.send(dispatches, evening) == SendReport(deferred=1)
    assert d.provider.lookups == 1 and len(d.provider.sent) == 1  # asked; nothing sent again
    deferred = d.events(enrollment, Enrollment.StepDeferred)[-1]
    assert deferred.due_at == datetime(2026, 12, 8, 15, 0, tzinfo=UTC)  # 10:00 in New York
    assert "quiet hours" in deferred.reason

    morning = deferred.due_at
    assert d.send(d.dispatch([enrollment], morning), morning) == SendReport(sent=1)
    assert len(d.provider.sent) == 2 and d.provider.lookups == 2


def test_a_batch_looks_at_its_campaign_again_while_its_calls_go_out(service):
    """The calls of a batch go out over time (a slow provider, a few at once): each looks at its
    campaign again, read at most once per period, so an archive stops those not yet made."""
    d = desk_for_a_new_brand(service)
    campaign = d.campaign(PEOPLE[:1], ONE_EMAIL)
    d.client.sender("email", "sales@brand.example")
    d.launch(campaign, NOW)
    other = desk_for_a_new_brand(service)  # another brand's suspension stops none of this one's calls
    suspend_brand(other.store, other.service.db, other.client.brand_id, "unpaid invoice", "test", NOW)
    clock = [8.0]  # seconds in binary fractions, so that a period is exactly a period
    watch = CampaignWatch(
        d.store, d.service.db, {campaign: d.store.campaign(campaign)}, every=0.25, clock=lambda: clock[0]
    )
    assert watch.running(str(campaign))
    clock[0] = 8.25
    assert watch.running(str(campaign))  # read again, a period later: still running
    archive_campaign(d.store, d.client.brand_id, campaign, NOW)
    clock[0] = 8.375
    assert watch.running(str(campaign))  # read less than a period ago
    clock[0] = 8.5
    assert not watch.running(str(campaign))
    assert not watch.running(str(uuid4()))  # a campaign the batch does not hold is never sent for
