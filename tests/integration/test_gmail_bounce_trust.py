"""A bounce is believed only for a message the mailbox itself sent: the real Google SDK against the fake.

Anybody can mail a mailbox something that looks like a delivery report. It counts only when it
names (in `In-Reply-To`/`References`, the DSN's `Original-Message-ID`, or the returned message's
headers) a Message-ID that mailbox sent, and then it suppresses that message's recipient and
nobody else: not the phone numbers or strangers its `X-Failed-Recipients` lists, and never a
contact of another brand.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from commands.inbound.bounces import record_bounce
from domain.enrollment import Enrollment
from provider_fakes.google import FakeGoogle, bounce_of, forged_bounce
from tests.integration.gmail_support import (
    FIRST,
    FOLLOW_UP,
    SALES,
    fake_google,
    first_email_sent,
    mailbox,
    polling_service,
    suppressed,
)
from tests.support import Client, campaign_events, eventually, processed_after

PHONE = "+14155550100"


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    with fake_google() as fake:
        yield fake


@pytest.fixture
def service(database_url: str, google: FakeGoogle) -> Iterator[Any]:
    with polling_service(database_url, google) as container:
        yield container


def nothing_happened(service: Any, client: Client, campaign_id: str) -> bool:
    return (
        suppressed(client) == []
        and campaign_events(service, campaign_id, Enrollment.StepUndelivered) == []
        and campaign_events(service, campaign_id, Enrollment.StepWithdrawn) == []
    )


def test_a_forged_bounce_naming_no_message_of_ours_changes_nothing(service, google):
    client = Client(service)
    mailbox(client, google, SALES)
    campaign_id, first = first_email_sent(client, google, SALES)

    with processed_after(service, "gmail_replies"):
        listed = f"ada@example.com, {PHONE}, stranger@elsewhere.example"
        google.deliver(SALES, forged_bounce(failed_recipients=listed))
        # In the campaign's own thread, from a mailer daemon, naming an id of the mailbox's domain.
        made_up = "<0123456789abcdef0123456789abcdef@brand.example>"
        google.deliver(
            SALES,
            forged_bounce("MAILER-DAEMON@attacker.example", "ada@example.com", in_reply_to=made_up),
            thread_id=first.thread_id,
        )
        google.deliver(SALES, bounce_of(first, "ada@example.com", names_original=()))

    assert nothing_happened(service, client, campaign_id)


@pytest.mark.parametrize(
    "names_original", ["in-reply-to", "original-message-id", "returned-headers", "returned-message"]
)
def test_a_bounce_of_our_message_suppresses_its_recipient_however_it_names_it(
    service, google, names_original
):
    client = Client(service)
    mailbox(client, google, SALES)
    campaign_id, first = first_email_sent(client, google, SALES)

    delivered = datetime.now(UTC)
    google.deliver(SALES, bounce_of(first, names_original=(names_original,)))  # a thread of its own

    eventually(lambda: suppressed(client) == ["ada@example.com"])
    [undelivered] = eventually(lambda: campaign_events(service, campaign_id, Enrollment.StepUndelivered))
    assert undelivered.step_id == campaign_events(service, campaign_id, Enrollment.StepSent)[0].step_id
    assert delivered <= undelivered.undelivered_at <= datetime.now(UTC)  # when the bounce was read


def test_the_recipients_a_bounce_lists_are_not_suppressed_only_the_messages_own(service, google):
    client = Client(service)
    mailbox(client, google, SALES)
    group = client.lead_group(
        [
            {"email": "ada@example.com", "first_name": "Ada"},
            {"email": "bo@example.com", "phone": PHONE, "first_name": "Bo"},
        ]
    )
    campaign_id = client.campaign(group, [FIRST, FOLLOW_UP])
    client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
    [to_ada] = eventually(lambda: [m for m in google.messages(SALES) if m.parsed["To"] == "ada@example.com"])

    listed = f"bo@example.com, {PHONE}, stranger@elsewhere.example"
    google.deliver(SALES, bounce_of(to_ada, failed_recipient=listed))

    eventually(lambda: suppressed(client) == ["ada@example.com"])
    with processed_after(service, "gmail_replies"):
        pass
    assert suppressed(client) == ["ada@example.com"]
    withdrawn = eventually(lambda: campaign_events(service, campaign_id, Enrollment.StepWithdrawn))
    assert len(withdrawn) == 1  # Ada's follow-up; Bo's stays due


def test_a_delay_notice_of_our_message_is_no_bounce(service, google):
    client = Client(service)
    mailbox(client, google, SALES)
    campaign_id, first = first_email_sent(client, google, SALES)

    with processed_after(service, "gmail_replies"):
        google.deliver(SALES, bounce_of(first, action="delayed"))

    assert nothing_happened(service, client, campaign_id)


def test_one_brands_mailbox_cannot_bounce_another_brands_message(service, google):
    victim, intruder = Client(service), Client(service)
    mailbox(victim, google, SALES)
    mailbox(intruder, google, "ops@other.example")
    campaign_id, first = first_email_sent(victim, google, SALES)

    with processed_after(service, "gmail_replies"):  # the victim's genuine bounce, in the other's mailbox
        google.deliver("ops@other.example", bounce_of(first, failed_recipient="ada@example.com"))

    assert nothing_happened(service, victim, campaign_id)
    assert suppressed(intruder) == []
    google.deliver(SALES, bounce_of(first))  # where it belongs, it counts
    eventually(lambda: suppressed(victim) == ["ada@example.com"])
    assert suppressed(intruder) == []


def test_a_bounce_too_big_to_read_whole_is_judged_by_its_headers_alone(service, google):
    client = Client(service)
    mailbox(client, google, SALES)
    campaign_id, first = first_email_sent(client, google, SALES)
    big = 3_000_000

    with processed_after(service, "gmail_replies"):  # names our message only inside its body
        google.deliver(SALES, bounce_of(first, names_original=("returned-headers",), padding=big))

    assert nothing_happened(service, client, campaign_id) and google.raw_reads == 0
    google.deliver(SALES, bounce_of(first, names_original=("in-reply-to",), padding=big))
    eventually(lambda: suppressed(client) == ["ada@example.com"])
    assert google.raw_reads == 0


def test_a_bounce_with_control_characters_in_its_sender_is_recorded_without_them(service, google):
    client = Client(service)
    mailbox(client, google, SALES)
    campaign_id, first = first_email_sent(client, google, SALES)

    google.deliver(SALES, bounce_of(first, sender="Mailer <mailer-daemon@x\x00\x01.example>"))

    [undelivered] = eventually(lambda: campaign_events(service, campaign_id, Enrollment.StepUndelivered))
    assert "\x00" not in undelivered.reason and suppressed(client) == ["ada@example.com"]


def test_a_bounce_recorded_under_another_brand_marks_nothing_and_under_its_own_brand_counts_once(
    service, google
):
    """The use case's own guard, behind the poller's: a step key is taken only for the brand that
    sent it, whoever hands it over."""
    victim, other = Client(service), Client(service)
    mailbox(victim, google, SALES)
    campaign_id, _ = first_email_sent(victim, google, SALES)
    [sent] = campaign_events(service, campaign_id, Enrollment.StepSent)
    step_key = f"{sent.originator_id}:{sent.step_id}"
    now = datetime.now(UTC)

    assert record_bounce(service.store, service.db, other.brand_id, step_key, "bounced", now) == 0
    assert nothing_happened(service, victim, campaign_id)
    assert suppressed(other) == []

    assert record_bounce(service.store, service.db, victim.brand_id, step_key, "bounced", now) == 1
    assert suppressed(victim) == ["ada@example.com"]
    [undelivered] = campaign_events(service, campaign_id, Enrollment.StepUndelivered)
    assert (undelivered.step_id, undelivered.reason) == (sent.step_id, "bounced")
