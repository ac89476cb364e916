"""Each outcome of a provider call, recorded exactly: the event, its reason and its time, the
report's counts, the quota, and what a later delivery of the same step does.

The clock is in the test's hand (tests/integration/desk.py): every use case is called at a moment
the test chooses, so the backoff after each transient failure is checked to the second.
"""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from commands.campaigns.campaign_lifecycle import pause_campaign
from commands.credits.brand_standing import suspend_brand
from commands.inbound.replies import record_reply_in_enrollment
from commands.sending.personalisation import Personalised
from commands.sending.providers import ReconcileFailed, SendOutcome
from commands.sending.redispatch_steps import redispatch_stale_steps
from commands.sending.send_outcomes import SendReport, retry_delay
from commands.sending.send_steps import send_dispatches
from commands.tracking.tracked_mail import MailTracking
from commands.tracking.tracking_tokens import TrackedStep, TrackingTokens
from consumers.channel_worker import ChannelWorker
from consumers.providers.sandbox import SandboxProvider
from consumers.transport.messages import encode_dispatch
from domain.enrollment import REPLIED, Enrollment, StepStatus
from storage import parked
from storage.database import Database
from tests.api.api_support import service_on_own_database
from tests.integration.desk import LOST, ROLES, ScriptedProvider, desk_for_a_new_brand

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
ONE_EMAIL = [{"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}]
REFUSED = SendOutcome(error="550 no such mailbox", permanent=True)
BUSY = SendOutcome(error="421 try again later")


class WorkerDied(Exception):
    pass


def dies_mid_call(_message) -> None:
    raise WorkerDied("the worker died mid-call")


def cut_short(d, dispatches, during=dies_mid_call) -> None:
    """Send `dispatches` at NOW with the worker dying inside each provider call (`during` raises
    WorkerDied): their steps stay attempted, as after a crash; the provider answers normally after."""
    d.provider.during = during
    with pytest.raises(WorkerDied):
        d.send(dispatches, NOW)
    d.provider.during = None


def ann_cut_short(service):
    """A brand with one email account, and ann's one email whose attempt the worker's death cut
    short: the desk, the account, ann's enrollment and the dispatches to deliver again."""
    d = desk_for_a_new_brand(service)
    account = d.client.sender("email", "sales@brand.example")
    [ann] = d.launch(d.campaign([{"email": "ann@example.com"}], ONE_EMAIL), NOW)
    dispatches = d.dispatch([ann], NOW)
    cut_short(d, dispatches)
    return d, account, ann, dispatches


@pytest.fixture(scope="module")
def service(server_url):
    """One service for the module: each test works as a brand of its own on it."""
    with service_on_own_database(server_url, roles=ROLES) as running:
        yield running


def test_sent_failed_deferred_and_withdrawn_are_each_recorded_with_reason_time_and_count(service):
    unexplained = SendOutcome(permanent=True)  # a refusal that gives no reason
    script = {
        "bob@example.com": [REFUSED],
        "cy@example.com": [BUSY],
        "eve@example.com": [unexplained],
        "fay@example.com": [BUSY],
    }
    d = desk_for_a_new_brand(service, ScriptedProvider(per_address=script))
    account = d.client.sender("email", "sales@brand.example")
    people = [{"email": f"{name}@example.com"} for name in ("ann", "bob", "cy", "dee", "eve", "fay")]
    campaign = d.campaign(people, ONE_EMAIL)
    ann, bob, cy, dee, eve, fay = d.launch(campaign, NOW)
    dispatches = d.dispatch([ann, bob, cy, dee, eve, fay], NOW)
    d.service.db.execute(  # dee's suppression arrives while her dispatch is on its way
        "INSERT INTO suppressions (brand_id, address, reason, created_at) VALUES (%s, %s, 'STOP', now())",
        (d.client.brand_id, "dee@example.com"),
    )
    report = d.send(dispatches, NOW)

    assert report == SendReport(sent=1, failed=2, deferred=2, withdrawn=1)
    assert sorted(m.to for m in d.provider.sent) == [
        "ann@example.com",
        "bob@example.com",
        "cy@example.com",
        "eve@example.com",
        "fay@example.com",
    ]
    step = dispatches[0].step_id
    [sent] = d.events(ann, Enrollment.StepSent)
    assert (sent.campaign_id, sent.step_id, sent.channel, sent.credits) == (campaign, step, "email", 1)
    assert (sent.sender_account_id, sent.sent_at, sent.personalisation) == (
        account["id"],
        NOW,
        "template",
    )
    assert sent.provider_message_id == d.provider.accepted[f"{ann}:{step}"]
    [failed] = d.events(bob, Enrollment.StepFailed)
    assert (failed.reason, failed.credits_released, failed.failed_at) == ("550 no such mailbox", 1, NOW)
    assert [e.reason for e in d.events(eve, Enrollment.StepFailed)] == ["failed"]
    [deferred] = d.events(cy, Enrollment.StepDeferred)
    assert (deferred.reason, deferred.due_at) == (
        "transient: 421 try again later",
        NOW + timedelta(seconds=30),
    )
    [withdrawn] = d.events(dee, Enrollment.StepWithdrawn)
    assert withdrawn.reason == "address suppressed (checked right before sending)"
    assert (withdrawn.credits_released, withdrawn.withdrawn_at) == (1, NOW)
    assert d.sends_today() == [1]  # only the send that happened keeps its quota
    assert [d.enrollment(e).status_of(step) for e in (ann, bob, dee)] == [
        StepStatus.SENT,
        StepStatus.FAILED,
        StepStatus.WITHDRAWN,
    ]


def test_each_transient_failure_waits_twice_as_long_as_the_one_before(service):
    d = desk_for_a_new_brand(service, ScriptedProvider([BUSY]))
    d.client.sender("email", "sales@brand.example")
    [ann] = d.launch(d.campaign([{"email": "ann@example.com"}], ONE_EMAIL), NOW)
    now, waits = NOW, []
    for _ in range(4):
        d.send(d.dispatch([ann], now), now)
        due = d.events(ann, Enrollment.StepDeferred)[-1].due_at
        waits.append(due - now)
        now = due
    assert waits == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert [retry_delay(n) for n in (0, 1, 2, 8, 20)] == [
        timedelta(seconds=30),
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(hours=1),
        timedelta(hours=1),
    ]


def test_a_campaign_paused_after_dispatch_cancels_the_step_and_takes_no_quota(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    campaign = d.campaign([{"email": "ann@example.com"}, {"email": "bob@example.com"}], ONE_EMAIL)
    ann, bob = d.launch(campaign, NOW)
    dispatches = d.dispatch([ann, bob], NOW)
    pause_campaign(d.store, d.client.brand_id, campaign, NOW)
    report = d.send(dispatches, NOW + timedelta(seconds=5))
    assert report == SendReport(cancelled=2)
    [cancelled] = d.events(ann, Enrollment.StepCancelled)
    assert (cancelled.reason, cancelled.cancelled_at) == ("campaign PAUSED", NOW + timedelta(seconds=5))
    assert d.provider.sent == [] and d.sends_today() == [0]


def test_a_campaign_paused_while_its_batch_is_called_withholds_the_calls_not_yet_made(service):
    """A provider called once per message, one call at a time: the campaign is paused during the
    first call, and the next call, made a period later, looks at its campaign again and is withheld."""
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    campaign = d.campaign([{"email": "ann@example.com"}, {"email": "bob@example.com"}], ONE_EMAIL)
    ann, bob = d.launch(campaign, NOW)
    dispatches = d.dispatch([ann, bob], NOW)

    def pause_during_the_first_call(_message) -> None:
        if len(d.provider.sent) == 1:
            pause_campaign(d.store, d.client.brand_id, campaign, NOW)
            time.sleep(0.2)  # past the period after which a call reads its campaign again

    d.provider.during = pause_during_the_first_call
    with ThreadPoolExecutor(1) as one_call_at_a_time:
        providers = {"sandbox": d.provider}
        report = send_dispatches(
            d.store, d.service.db, providers, dispatches, lambda: NOW, calls=one_call_at_a_time
        )
    assert report == SendReport(sent=1, cancelled=1)
    assert [m.to for m in d.provider.sent] == ["ann@example.com"]
    [withheld] = d.events(bob, Enrollment.StepCancelled)
    assert withheld.reason == "withheld: the campaign is not active"


def test_a_brand_suspended_while_its_batch_is_called_has_the_calls_not_yet_made_withheld(service):
    """As a pause: the brand is suspended during the first call, and the next call, made a period
    later, reads its brand's standing again and is withheld, its step waiting with its credit."""
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    campaign = d.campaign([{"email": "ann@example.com"}, {"email": "bob@example.com"}], ONE_EMAIL)
    ann, bob = d.launch(campaign, NOW)
    dispatches = d.dispatch([ann, bob], NOW)

    def suspend_during_the_first_call(_message) -> None:
        if len(d.provider.sent) == 1:
            suspend_brand(d.store, d.service.db, d.client.brand_id, "invoice unpaid", "ops", NOW)
            time.sleep(0.2)  # past the period after which a call reads its campaign again

    d.provider.during = suspend_during_the_first_call
    with ThreadPoolExecutor(1) as one_call_at_a_time:
        providers = {"sandbox": d.provider}
        report = send_dispatches(
            d.store, d.service.db, providers, dispatches, lambda: NOW, calls=one_call_at_a_time
        )
    assert report == SendReport(sent=1, cancelled=1)
    assert [m.to for m in d.provider.sent] == ["ann@example.com"]
    [withheld] = d.events(bob, Enrollment.StepCancelled)
    assert withheld.reason == "withheld: the campaign is not active"
    assert d.reservation(campaign).outstanding == 2  # one sent (settled later), one kept to wait


def test_an_attempt_cut_short_then_paused_asks_the_provider_and_sends_nothing(service):
    provider = ScriptedProvider([BUSY])
    d = desk_for_a_new_brand(service, provider)
    d.client.sender("email", "sales@brand.example")
    campaign = d.campaign([{"email": "ann@example.com"}, {"email": "bob@example.com"}], ONE_EMAIL)
    ann, bob = d.launch(campaign, NOW)
    dispatches = d.dispatch([ann, bob], NOW)
    for dispatch in dispatches:
        cut_short(d, [dispatch])
        assert d.enrollment(dispatch.enrollment_id).status_of(dispatch.step_id) is StepStatus.ATTEMPTED
    pause_campaign(d.store, d.client.brand_id, campaign, NOW)

    report = d.send(dispatches, NOW + timedelta(minutes=15))  # the sweeper's redelivery
    assert report == SendReport(cancelled=2)
    assert (len(provider.sent), provider.lookups) == (2, 2)
    for enrollment in (ann, bob):
        [cancelled] = d.events(enrollment, Enrollment.StepCancelled)
        assert cancelled.reason == "withheld: the campaign is not active"
        assert cancelled.cancelled_at == NOW + timedelta(minutes=15)


def test_a_send_whose_answer_was_lost_is_found_at_the_provider_and_not_sent_again(service):
    d = desk_for_a_new_brand(service, ScriptedProvider([LOST, SendOutcome(provider_message_id="second")]))
    d.client.sender("email", "sales@brand.example")
    [ann] = d.launch(d.campaign([{"email": "ann@example.com"}], ONE_EMAIL), NOW)
    first = d.send(d.dispatch([ann], NOW), NOW)
    assert first == SendReport(deferred=1)
    due = d.events(ann, Enrollment.StepDeferred)[-1].due_at

    again = d.send(d.dispatch([ann], due), due)
    assert again == SendReport(sent=1)
    assert len(d.provider.sent) == 1 and d.provider.lookups == 1
    [sent] = d.events(ann, Enrollment.StepSent)
    assert sent.provider_message_id == "lost-1"
    assert len(d.events(ann, Enrollment.StepAttempted)) == 2


def test_an_outcome_recorded_while_another_worker_wrote_the_same_enrollment_is_recorded_once(service):
    steps = [*ONE_EMAIL, {"type": "SMS", "group": 0, "body": "Hello"}]
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    d.client.sender("sms", "+14155550000")
    [ann] = d.launch(d.campaign([{"email": "ann@example.com", "phone": "+14155550123"}], steps), NOW)
    dispatches = d.dispatch([ann], NOW)
    email = next(x for x in dispatches if x.channel == "email")
    text = next(x for x in dispatches if x.channel == "sms")

    def the_sms_worker_writes_meanwhile(_message) -> None:
        enrollment = d.enrollment(ann)
        enrollment.attempt(text.step_id, "sms-account", NOW)
        d.store.save(enrollment)

    d.provider.during = the_sms_worker_writes_meanwhile
    assert d.send([email], NOW) == SendReport(sent=1)
    assert len(d.events(ann, Enrollment.StepSent)) == 1
    current = d.enrollment(ann)
    assert current.status_of(email.step_id) is StepStatus.SENT
    assert current.status_of(text.step_id) is StepStatus.ATTEMPTED  # the other worker's write stands
    assert sorted(d.sends_today()) == [0, 1]


def test_the_message_carries_the_rendered_text_and_whom_it_is_for_and_from(service):
    steps = [
        {"type": "EMAIL", "group": 0, "subject": "Hi {{first_name|there}}", "body": "From {{company|us}}"},
        {"type": "VOICEMAIL", "group": 0, "audio_url": "https://brand.example/hi.mp3"},
    ]
    d = desk_for_a_new_brand(service)
    mail = d.client.sender("email", "sales@brand.example")
    voice = d.client.sender("voice", "+14155550001")
    people = [{"email": "ann@example.com", "phone": "+14155550123", "first_name": "Ann"}]
    campaign = d.campaign(people, steps)
    [ann] = d.launch(campaign, NOW)
    dispatches = d.dispatch([ann], NOW)
    assert d.send(dispatches, NOW) == SendReport(sent=2)
    contact = d.enrollment(ann).contact_id
    by_channel = {m.channel: m for m in d.provider.sent}
    email, voicemail = by_channel["email"], by_channel["voicemail"]
    step = {x.channel: x.step_id for x in dispatches}
    assert (email.to, email.sender, email.sender_account_id) == (
        "ann@example.com",
        mail["address"],
        mail["id"],
    )
    assert (email.subject, email.body, email.audio_url) == ("Hi Ann", "From us", None)
    assert (email.message_key, email.step_id) == (f"{ann}:{step['email']}", step["email"])
    assert (email.campaign_id, email.contact_id, email.brand_id) == (
        str(campaign),
        str(contact),
        str(d.client.brand_id),
    )
    assert (voicemail.to, voicemail.sender, voicemail.audio_url) == (
        "+14155550123",
        voice["address"],
        "https://brand.example/hi.mp3",
    )
    assert voicemail.message_key == f"{ann}:{step['voicemail']}"
    # When the steps' group became due, for the send lag the channel workers measure.
    assert email.due_at == voicemail.due_at == NOW


def test_a_field_the_template_needs_and_the_contact_lacks_fails_the_step_for_good(service):
    steps = [{"type": "EMAIL", "group": 0, "subject": "Hi {{first_name}}", "body": "Hello"}]
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    campaign = d.campaign([{"email": "ann@example.com", "first_name": "Ann"}], steps)
    [ann] = d.launch(campaign, NOW)
    d.service.db.execute(
        "UPDATE contacts SET first_name = NULL WHERE brand_id = %s AND email = 'ann@example.com'",
        (d.client.brand_id,),
    )
    assert d.send(d.dispatch([ann], NOW), NOW) == SendReport(failed=1)
    [failed] = d.events(ann, Enrollment.StepFailed)
    assert failed.reason == "template field 'first_name' is missing"
    assert d.provider.sent == [] and d.sends_today() == [0]


def test_a_batch_whose_attempts_meet_another_workers_write_is_counted_once_when_tried_again(service):
    steps = [*ONE_EMAIL, {"type": "SMS", "group": 0, "body": "Hello"}]
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    texts = d.client.sender("sms", "+14155550000")
    people = [{"email": "ann@example.com", "phone": "+14155550123"}, {"email": "bob@example.com"}]
    ann, bob = d.launch(d.campaign(people, steps), NOW)
    dispatches = d.dispatch([ann, bob], NOW)
    ann_email, bob_email = (
        next(x for x in dispatches if x.channel == "email" and x.enrollment_id == e) for e in (ann, bob)
    )
    ann_text = next(x for x in dispatches if x.channel == "sms")
    assert d.send([bob_email], NOW) == SendReport(sent=1)
    writes = []

    def sms_worker_writes_first() -> datetime:
        if not writes:  # the first reading of the clock: bob's stale delivery is counted already
            enrollment = d.enrollment(ann)
            enrollment.attempt(ann_text.step_id, str(texts["id"]), NOW)
            writes.append(d.store.save(enrollment))
        return NOW

    report = send_dispatches(
        d.store, d.service.db, {"sandbox": d.provider}, [bob_email, ann_email], sms_worker_writes_first
    )
    assert writes and report == SendReport(sent=1, skipped=1)  # counted by the second try alone
    assert d.enrollment(ann).status_of(ann_text.step_id) is StepStatus.ATTEMPTED
    assert len(d.provider.sent) == 2 and sorted(d.sends_today()) == [0, 2]


def test_a_batch_skips_a_repeated_dispatch_an_unknown_enrollment_and_stale_deliveries(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    campaign = d.campaign([{"email": "ann@example.com"}, {"email": "bob@example.com"}], ONE_EMAIL)
    ann, bob = d.launch(campaign, NOW)
    dispatches = d.dispatch([ann, bob], NOW)
    unknown = dispatches[0].__class__(uuid4(), campaign, dispatches[0].step_id, "email")
    report = d.send([dispatches[0], dispatches[0], unknown, dispatches[1]], NOW)
    assert report == SendReport(sent=2, skipped=2)
    assert len(d.provider.sent) == 2 and d.sends_today() == [2]
    assert d.send(dispatches, NOW) == SendReport(skipped=2)  # both sent already
    assert len(d.provider.sent) == 2 and d.sends_today() == [2]


def test_a_contacts_follow_up_comes_from_the_account_that_sent_the_first_step(service):
    steps = [*ONE_EMAIL, {"type": "EMAIL", "group": 1, "subject": "Again", "body": "Hello again"}]
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "one@brand.example")
    d.client.sender("email", "two@brand.example")
    [ann] = d.launch(d.campaign([{"email": "ann@example.com"}], steps), NOW)
    d.send(d.dispatch([ann], NOW), NOW)
    [first] = d.events(ann, Enrollment.StepSent)
    # The first account is now the busier one: rotation alone would pick the other.
    d.service.db.execute(
        "UPDATE sender_accounts SET sends_today = 50 WHERE id = %s", (first.sender_account_id,)
    )
    later = NOW + timedelta(days=1)
    assert d.send(d.dispatch([ann], later), later) == SendReport(sent=1)
    assert d.events(ann, Enrollment.StepSent)[-1].sender_account_id == first.sender_account_id


def test_a_step_whose_answer_was_lost_and_whose_campaign_then_paused_is_found_and_recorded(service):
    d = desk_for_a_new_brand(service, ScriptedProvider([LOST]))
    account = d.client.sender("email", "sales@brand.example")
    campaign = d.campaign([{"email": "ann@example.com"}], ONE_EMAIL)
    [ann] = d.launch(campaign, NOW)
    assert d.send(d.dispatch([ann], NOW), NOW) == SendReport(deferred=1)
    due = d.events(ann, Enrollment.StepDeferred)[-1].due_at
    dispatches = d.dispatch([ann], due)  # on its way to a worker when the campaign is paused
    pause_campaign(d.store, d.client.brand_id, campaign, due)
    assert d.send(dispatches, due) == SendReport(sent=1)
    [sent] = d.events(ann, Enrollment.StepSent)
    assert (sent.provider_message_id, sent.sender_account_id) == ("lost-1", account["id"])
    attempts = d.events(ann, Enrollment.StepAttempted)
    assert [(a.sender_account_id, a.attempted_at) for a in attempts] == [
        (account["id"], NOW),
        (account["id"], due),
    ]
    assert len(d.provider.sent) == 1


def test_steps_to_suppressed_addresses_and_to_contacts_who_replied_are_each_withdrawn_and_counted(service):
    d = desk_for_a_new_brand(service, ScriptedProvider([BUSY]))
    d.client.sender("email", "sales@brand.example")
    people = [{"email": f"{name}@example.com"} for name in ("ann", "bob", "cy", "dee")]
    ann, bob, cy, dee = d.launch(d.campaign(people, ONE_EMAIL), NOW)
    dispatches = d.dispatch([ann, bob, cy, dee], NOW)
    cut_short(d, [x for x in dispatches if x.enrollment_id in (cy, dee)])  # their steps stay attempted
    calls_cut_short = len(d.provider.sent)
    for replied in (cy, dee):  # a reply leaves an attempted step to its worker
        assert record_reply_in_enrollment(d.store, replied, "email", f"reply-{replied}", NOW) == 1
    for address in ("ann@example.com", "bob@example.com"):  # stopped while the dispatches travel
        d.service.db.execute(
            "INSERT INTO suppressions (brand_id, address, reason, created_at) VALUES (%s, %s, 'STOP', now())",
            (d.client.brand_id, address),
        )

    later = NOW + timedelta(minutes=15)  # the sweeper's redelivery of all four
    assert d.send(dispatches, later) == SendReport(withdrawn=4)
    assert len(d.provider.sent) == calls_cut_short and d.provider.lookups == 2  # no call at all
    assert d.sends_today() == [2]  # the quota of a call cut short stays taken: it may have gone
    step = dispatches[0].step_id
    reasons = {ann: "address suppressed", bob: "address suppressed", cy: REPLIED, dee: REPLIED}
    for enrollment_id, reason in reasons.items():
        [withdrawn] = d.events(enrollment_id, Enrollment.StepWithdrawn)
        assert withdrawn.reason.startswith(reason)
        assert (withdrawn.step_id, withdrawn.credits_released, withdrawn.withdrawn_at) == (step, 1, later)
        assert d.enrollment(enrollment_id).status_of(step) is StepStatus.WITHDRAWN


class Rewriter:
    """A model that writes every message itself."""

    def personalise(self, step, contact_values):
        return Personalised("Written for you", f"Dear {contact_values.get('first_name')}", "model")


def test_a_batch_of_one_goes_to_a_provider_that_takes_batches_and_is_sent(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    [ann] = d.launch(d.campaign([{"email": "ann@example.com"}], ONE_EMAIL), NOW)
    providers = {"sandbox": SandboxProvider(d.service.db)}
    report = send_dispatches(d.store, d.service.db, providers, d.dispatch([ann], NOW), lambda: NOW)
    assert report == SendReport(sent=1)


def test_a_campaign_paused_during_a_call_withholds_the_batch_of_a_provider_that_takes_batches(service):
    """Emails one call each, texts through a provider that takes batches (a second sandbox): the
    campaign is paused during the email's call, and the texts' batch call, a period later, looks
    at its campaign again and hands that provider nothing."""
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    texts = d.client.sender("sms", "+14155550100")
    d.service.db.execute("UPDATE sender_accounts SET provider = 'twilio' WHERE id = %s", (texts["id"],))
    steps = [*ONE_EMAIL, {"type": "SMS", "group": 0, "body": "Hello"}]
    campaign = d.campaign([{"email": "ann@example.com", "phone": "+14155550123"}], steps)
    [ann] = d.launch(campaign, NOW)

    def pause_during_the_call(_message) -> None:
        pause_campaign(d.store, d.client.brand_id, campaign, NOW)
        time.sleep(0.2)  # past the period after which a call reads its campaign again

    d.provider.during = pause_during_the_call
    sms = SandboxThatNotesItsCalls(d.service.db)
    providers = {"sandbox": d.provider, "twilio": sms}
    report = send_dispatches(d.store, d.service.db, providers, d.dispatch([ann], NOW), lambda: NOW)
    assert report == SendReport(sent=1, cancelled=1)
    assert sms.recipients_by_call == []
    [withheld] = d.events(ann, Enrollment.StepCancelled)
    assert withheld.reason == "withheld: the campaign is not active"


def test_a_personalised_send_records_how_its_text_was_made(service):
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    people = [{"email": "ann@example.com", "first_name": "Ann"}]
    [ann] = d.launch(d.campaign(people, ONE_EMAIL, ai_personalization=True), NOW)
    assert d.send(d.dispatch([ann], NOW), NOW, Rewriter()) == SendReport(sent=1)
    [message] = d.provider.sent
    assert (message.subject, message.body) == ("Written for you", "Dear Ann")
    [sent] = d.events(ann, Enrollment.StepSent)
    assert sent.personalisation == "model"


def test_a_step_attempted_through_a_provider_this_build_has_no_adapter_for_fails_for_good(service):
    """A redelivery to a process built without the adapter of the account that attempted the step
    (a mixed deployment) cannot ask that provider, so it fails the step rather than guess."""

    d, account, ann, dispatches = ann_cut_short(service)
    d.service.db.execute("UPDATE sender_accounts SET provider = 'gmail' WHERE id = %s", (account["id"],))

    later = NOW + timedelta(minutes=15)
    assert d.send(dispatches, later) == SendReport(failed=1)  # the desk builds the sandbox adapter only
    [failed] = d.events(ann, Enrollment.StepFailed)
    assert (failed.reason, failed.failed_at) == ("no gmail adapter in this build", later)
    assert d.provider.lookups == 0


def test_an_email_carries_its_tracked_link_and_pixel_and_a_text_its_own_words(service):
    tokens = TrackingTokens(b"a tracking secret for this test")
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    d.client.sender("sms", "+14155550100")
    steps = [
        {
            "type": "EMAIL",
            "group": 0,
            "subject": "Hi",
            "body": '<p><a href="https://brand.example/offer">Offer</a></p>',
        },
        {"type": "SMS", "group": 0, "body": "See https://brand.example/offer"},
    ]
    people = [{"email": "ann@example.com", "phone": "+14155550123"}]
    campaign = d.campaign(people, steps)
    [ann] = d.launch(campaign, NOW)
    dispatches = d.dispatch([ann], NOW)
    assert d.send(dispatches, NOW, tracking=MailTracking(tokens, "https://t.example")) == SendReport(sent=2)

    by_channel = {m.channel: m.body for m in d.provider.sent}
    assert by_channel["sms"] == "See https://brand.example/offer"  # texts are not tracked
    email = by_channel["email"]
    assert "brand.example/offer" not in email
    [click] = re.findall(r'href="https://t\.example/t/c/([^"]+)"', email)
    [pixel] = re.findall(r'src="https://t\.example/t/o/([^"]+)"', email)
    step = next(x.step_id for x in dispatches if x.channel == "email")
    assert tokens.read(click) == TrackedStep(d.client.brand_id, campaign, ann, step, 0)
    assert tokens.read(pixel) == TrackedStep(d.client.brand_id, campaign, ann, step)


def test_an_address_the_provider_says_opted_out_goes_on_the_brands_list(service):
    opted_out = SendOutcome(error="21610 unsubscribed recipient", permanent=True, opted_out=True)
    long_winded = SendOutcome(error="21610 " + "x" * 300, permanent=True, opted_out=True)
    script = {"+14155550123": [opted_out], "+14155550125": [long_winded]}
    d = desk_for_a_new_brand(service, ScriptedProvider(per_address=script))
    d.client.sender("sms", "+14155550100")
    people = [{"phone": "+14155550123"}, {"phone": "+14155550124"}, {"phone": "+14155550125"}]
    enrolled = d.launch(d.campaign(people, [{"type": "SMS", "group": 0, "body": "Hello"}]), NOW)
    assert d.send(d.dispatch(enrolled, NOW), NOW) == SendReport(sent=1, failed=2)
    rows = d.service.db.fetch_all(
        "SELECT address, reason, created_at FROM suppressions WHERE brand_id = %s ORDER BY address",
        (d.client.brand_id,),
    )
    assert [(r["address"], r["created_at"]) for r in rows] == [("+14155550123", NOW), ("+14155550125", NOW)]
    assert rows[0]["reason"] == "opted out at the provider (21610 unsubscribed recipient)"
    assert rows[1]["reason"] == ("opted out at the provider (21610 " + "x" * 300)[:200]  # kept short


def test_an_attempt_the_provider_cannot_be_asked_about_waits_and_sends_nothing(service):
    d, _, ann, dispatches = ann_cut_short(service)
    d.provider.lookup_failure = ReconcileFailed("lookup answered 503")

    later = NOW + timedelta(minutes=15)
    assert d.send(dispatches, later) == SendReport(deferred=1)
    [waiting] = d.events(ann, Enrollment.StepDeferred)
    assert (
        waiting.reason
        == "transient: could not ask the provider about the earlier attempt: lookup answered 503"
    )
    assert len(d.provider.sent) == 1  # only the call cut short


def test_a_step_cut_short_after_the_provider_took_it_counts_once_against_the_quota(service):
    """The worker died after the provider took the message: the sweeper dispatches the step again,
    the new delivery claims a unit, finds the message at the provider, and gives that unit back."""

    def took_it_then_died(message) -> None:
        d.provider.accepted[message.message_key] = "taken-before-the-crash"
        raise WorkerDied("the worker died before recording the answer")

    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    campaign = d.campaign([{"email": "ann@example.com"}], ONE_EMAIL)
    [ann] = d.launch(campaign, NOW)
    cut_short(d, d.dispatch([ann], NOW), took_it_then_died)
    lease = timedelta(minutes=10)
    assert redispatch_stale_steps(d.store, campaign, [ann], NOW + lease, lease) == 1

    again = d.dispatch([ann], NOW + lease)
    assert d.send(again, NOW + lease) == SendReport(sent=1)
    [sent] = d.events(ann, Enrollment.StepSent)
    assert sent.provider_message_id == "taken-before-the-crash"
    assert len(d.provider.sent) == 1 and d.sends_today() == [1]


def test_only_accounts_whose_provider_this_build_can_reach_are_given_sends(service):
    d = desk_for_a_new_brand(service)
    unreachable = d.client.sender("email", "old@brand.example")
    d.service.db.execute("UPDATE sender_accounts SET provider = 'gmail' WHERE id = %s", (unreachable["id"],))
    reachable = d.client.sender("email", "sales@brand.example")
    people = [{"email": f"{name}@example.com"} for name in ("ann", "bob", "cy", "dee")]
    enrolled = d.launch(d.campaign(people, ONE_EMAIL), NOW)
    assert d.send(d.dispatch(enrolled, NOW), NOW) == SendReport(sent=4)
    assert {m.sender_account_id for m in d.provider.sent} == {str(reachable["id"])}


def test_a_second_delivery_of_steps_whose_calls_are_in_progress_leaves_them_and_counts_them_skipped(service):
    calling, release = threading.Semaphore(0), threading.Event()

    def hold(_message) -> None:  # the first delivery's calls wait here, holding their steps' locks
        calling.release()
        release.wait(30)

    d = desk_for_a_new_brand(service, ScriptedProvider(during=hold))
    d.client.sender("email", "sales@brand.example")
    ann, bob = d.launch(
        d.campaign([{"email": "ann@example.com"}, {"email": "bob@example.com"}], ONE_EMAIL), NOW
    )
    dispatches = d.dispatch([ann, bob], NOW)
    first: list[SendReport] = []
    worker = threading.Thread(target=lambda: first.append(d.send(dispatches, NOW)))
    worker.start()
    try:
        assert calling.acquire(timeout=30) and calling.acquire(timeout=30)  # both calls are under way
        assert d.send(dispatches, NOW) == SendReport(skipped=2)  # a redelivery meanwhile
    finally:
        release.set()
        worker.join(30)
    assert first == [SendReport(sent=2)]
    assert len(d.provider.sent) == 2 and d.sends_today() == [2]


class HeldBeforeItsStepLocks(Database):
    """The real database, except that the statement taking a delivery's step locks first waits
    for the test: the one moment between a delivery's two phases."""

    def __init__(self, url: str) -> None:
        super().__init__(url, max_size=2)
        self.reached, self.go = threading.Event(), threading.Event()

    @contextmanager
    def transaction(self):
        with super().transaction() as cur:
            yield _PausingCursor(cur, self)


class _PausingCursor:
    def __init__(self, cur, db: HeldBeforeItsStepLocks) -> None:
        self._cur, self._db = cur, db

    def execute(self, statement, *args, **kwargs):
        if "pg_try_advisory_xact_lock" in str(statement) and not self._db.reached.is_set():
            self._db.reached.set()
            self._db.go.wait(30)
        return self._cur.execute(statement, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._cur, name)


def test_a_delivery_whose_step_another_delivery_finished_between_its_phases_leaves_it(service):
    """B prepares ann's and cy's steps while A is calling the provider for them, then waits; A
    records the sends and lets go of the locks; B takes the locks, sees the steps moved on, and
    leaves them without even asking the provider, while bob's step, which only B has, goes out."""
    calling, release = threading.Semaphore(0), threading.Event()

    def hold(message) -> None:
        if message.to != "bob@example.com":
            calling.release()
            release.wait(30)

    d = desk_for_a_new_brand(service, ScriptedProvider(during=hold))
    d.client.sender("email", "sales@brand.example")
    people = [{"email": "ann@example.com"}, {"email": "bob@example.com"}, {"email": "cy@example.com"}]
    ann, bob, cy = d.launch(d.campaign(people, ONE_EMAIL), NOW)
    dispatches = d.dispatch([ann, bob, cy], NOW)
    by_a = [x for x in dispatches if x.enrollment_id in (ann, cy)]
    reports: dict[str, SendReport] = {}
    a = threading.Thread(target=lambda: reports.setdefault("a", d.send(by_a, NOW)))
    a.start()
    held = HeldBeforeItsStepLocks(d.service.db.url)
    providers = {"sandbox": d.provider}
    b = threading.Thread(
        target=lambda: reports.setdefault(
            "b", send_dispatches(d.store, held, providers, dispatches, lambda: NOW)
        )
    )
    try:
        assert calling.acquire(timeout=30) and calling.acquire(timeout=30)
        b.start()
        assert held.reached.wait(30)  # B has prepared both steps and waits before their locks
        release.set()
        a.join(30)
        assert reports["a"] == SendReport(sent=2)
        held.go.set()
        b.join(30)
    finally:
        release.set()
        held.go.set()
        a.join(30)
        b.join(30)
        held.close()
    assert reports["b"] == SendReport(sent=1, skipped=2)
    assert sorted(m.to for m in d.provider.sent) == ["ann@example.com", "bob@example.com", "cy@example.com"]
    assert d.provider.lookups == 0
    assert [len(d.events(e, Enrollment.StepSent)) for e in (ann, bob, cy)] == [1, 1, 1]


def test_an_attempt_cut_short_is_asked_about_then_sent_once_while_the_campaign_runs(service):
    d, _, ann, dispatches = ann_cut_short(service)

    later = NOW + timedelta(minutes=15)
    assert d.send(dispatches, later) == SendReport(sent=1)  # the provider never had it: sent now
    assert d.provider.lookups == 1
    [sent] = d.events(ann, Enrollment.StepSent)
    assert sent.sent_at == later


def test_an_account_that_needs_reconnecting_is_given_no_sends(service):
    d = desk_for_a_new_brand(service)
    stale = d.client.sender("email", "old@brand.example")
    d.service.db.execute(
        "UPDATE sender_accounts SET status = 'reconnect_required' WHERE id = %s", (stale["id"],)
    )
    healthy = d.client.sender("email", "sales@brand.example")
    people = [{"email": f"{name}@example.com"} for name in ("ann", "bob", "cy", "dee")]
    enrolled = d.launch(d.campaign(people, ONE_EMAIL), NOW)
    assert d.send(d.dispatch(enrolled, NOW), NOW) == SendReport(sent=4)
    assert {m.sender_account_id for m in d.provider.sent} == {str(healthy["id"])}


class SandboxThatNotesItsCalls(SandboxProvider):
    """The sandbox, noting the recipients of each call it takes (a batch is one call)."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.recipients_by_call: list[list[str]] = []

    def _take(self, messages):
        self.recipients_by_call.append(sorted(m.to for m in messages))
        return super()._take(messages)


def test_each_provider_that_takes_batches_gets_its_own_accounts_messages_in_one_call(service):
    """Emails through the sandbox, texts through a Twilio that takes batches (a second sandbox): each
    provider is called once for the batch, with the messages of its own accounts only."""
    d = desk_for_a_new_brand(service)
    d.client.sender("email", "sales@brand.example")
    texts = d.client.sender("sms", "+14155550100")
    d.service.db.execute("UPDATE sender_accounts SET provider = 'twilio' WHERE id = %s", (texts["id"],))
    mail, sms = SandboxThatNotesItsCalls(d.service.db), SandboxThatNotesItsCalls(d.service.db)
    steps = [*ONE_EMAIL, {"type": "SMS", "group": 0, "body": "Hello"}]
    people = [
        {"email": "ann@example.com", "phone": "+14155550123"},
        {"email": "bob@example.com", "phone": "+14155550124"},
    ]
    enrolled = d.launch(d.campaign(people, steps), NOW)
    providers = {"sandbox": mail, "twilio": sms}
    report = send_dispatches(d.store, d.service.db, providers, d.dispatch(enrolled, NOW), lambda: NOW)
    assert report == SendReport(sent=4)
    assert mail.recipients_by_call == [["ann@example.com", "bob@example.com"]]
    assert sms.recipients_by_call == [["+14155550123", "+14155550124"]]


def test_a_call_still_at_the_provider_when_another_of_its_batch_raises_is_not_sent_again(service):
    """The channel worker keeps its delivery threads for good. When one call of a batch raises,
    the worker tries each dispatch again on its own at once; a call of the same batch that was
    still at the provider has answered by then, so its step is found sent, never sent twice."""

    def during(message) -> None:
        if message.to == "ann@example.com":
            raise WorkerDied("the adapter raised")  # every time: ann's dispatch is the poison
        time.sleep(1.5)  # bob's call is still at the provider while ann's is tried and parked

    d = desk_for_a_new_brand(service, ScriptedProvider(during=during))
    d.client.sender("email", "sales@brand.example")
    people = [{"email": "ann@example.com"}, {"email": "bob@example.com"}]
    ann, bob = d.launch(d.campaign(people, ONE_EMAIL), NOW)
    dispatches = d.dispatch([ann, bob], NOW)
    step = dispatches[0].step_id
    providers = {"sandbox": d.provider}
    worker = ChannelWorker("email", d.store, d.service.db, d.service.transport, providers, lambda: NOW)
    try:
        report = worker.handle([encode_dispatch(dispatch, 0) for dispatch in dispatches])
    finally:
        worker.calls.shutdown()

    assert [m.to for m in d.provider.sent].count("bob@example.com") == 1
    assert report.sent == 1
    assert d.store.enrollment(bob).status_of(step) is StepStatus.SENT
    parked_items = {row["item"] for row in parked.listing(d.service.db, "worker:email")}
    assert f"{ann}:{step}" in parked_items
