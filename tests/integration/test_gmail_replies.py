"""Replies and bounces read from the senders' Gmail mailboxes: the real Google SDK against the fake.

The service polls each connected mailbox's history (provider_fakes/google.py keeps one, and mail
arrives in it with `deliver`). A reply stops the contact's follow-ups and releases their credits,
an automatic answer changes nothing, a bounce of our message suppresses its recipient (what a
bounce must name to be believed: test_gmail_bounce_trust.py), an expired history id is
resynced, and a mailbox whose grant was revoked never keeps the others from being read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from domain.enrollment import Enrollment
from provider_fakes.google import FakeGoogle, bounce_of, reply_to
from tests.integration.gmail_support import (
    SALES,
    campaign,
    fake_google,
    first_email_sent,
    mailbox,
    polling_service,
)
from tests.support import Client, campaign_events, eventually, processed_after

DAY = 86_400


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    with fake_google() as fake:
        yield fake


@pytest.fixture
def service(database_url: str, google: FakeGoogle) -> Iterator[Any]:
    with polling_service(database_url, google) as container:
        yield container


def test_a_reply_stops_the_follow_up_and_releases_its_credit(service, google):
    client = Client(service)
    mailbox(client, google, SALES)
    campaign_id, first = first_email_sent(client, google, SALES)

    reply = google.deliver(SALES, reply_to(first))

    [replied] = eventually(lambda: campaign_events(service, campaign_id, Enrollment.ContactReplied))
    assert (replied.channel, replied.provider_message_id) == ("email", reply.id)
    [withdrawn] = campaign_events(service, campaign_id, Enrollment.StepWithdrawn)
    assert withdrawn.reason == "the contact replied" and withdrawn.credits_released == 1
    done = eventually(lambda: (c := campaign(client, campaign_id))["credits"]["released"] == 1 and c)
    assert done["credits"]["consumed"] == 1 and done["credits"]["outstanding"] == 0
    eventually(lambda: campaign(client, campaign_id)["metrics"]["replied"] == 1)

    client.ok(client.post("/v1/dev/clock/advance", {"seconds": DAY + 60}))
    eventually(lambda: campaign(client, campaign_id)["status"] == "COMPLETED")
    assert google.messages() == [first]  # the follow-up never went


def test_automatic_answers_change_nothing(service, google):
    client = Client(service)
    mailbox(client, google, SALES)
    campaign_id, first = first_email_sent(client, google, SALES)

    with processed_after(service, "gmail_replies"):
        google.deliver(SALES, reply_to(first, "I am away.", Auto_Submitted="auto-replied"))
        google.deliver(SALES, reply_to(first, "Away.", Precedence="bulk"))
        google.deliver(SALES, reply_to(first, "Away.", X_Autoreply="yes"))
        google.deliver(SALES, reply_to(first, "Away.", Subject="Out of Office: back Monday"))

    assert campaign_events(service, campaign_id, Enrollment.ContactReplied) == []
    assert campaign_events(service, campaign_id, Enrollment.StepWithdrawn) == []
    assert client.ok(client.get("/v1/suppressions"))["items"] == []
    # The poller read past them: a person's answer after them is the one recorded.
    person = google.deliver(SALES, reply_to(first))
    [replied] = eventually(lambda: campaign_events(service, campaign_id, Enrollment.ContactReplied))
    assert replied.provider_message_id == person.id


def test_a_bounce_suppresses_the_address_and_marks_the_email_undelivered(service, google):
    client = Client(service)
    mailbox(client, google, SALES)
    campaign_id, first = first_email_sent(client, google, SALES)

    google.deliver(SALES, bounce_of(first), thread_id=first.thread_id)  # Gmail threads it with the original

    suppressed = eventually(lambda: client.ok(client.get("/v1/suppressions"))["items"])
    assert [s["address"] for s in suppressed] == ["ada@example.com"]
    assert suppressed[0]["reason"].startswith("hard bounce")
    [undelivered] = eventually(lambda: campaign_events(service, campaign_id, Enrollment.StepUndelivered))
    sent = campaign_events(service, campaign_id, Enrollment.StepSent)
    assert undelivered.step_id == sent[0].step_id and "mailer-daemon@googlemail.com" in undelivered.reason
    [withdrawn] = eventually(lambda: campaign_events(service, campaign_id, Enrollment.StepWithdrawn))
    assert withdrawn.reason.startswith("address suppressed") and withdrawn.credits_released == 1
    assert campaign_events(service, campaign_id, Enrollment.ContactReplied) == []


def test_an_expired_history_id_is_resynced_and_the_reply_is_still_found(service, google):
    client = Client(service)
    mailbox(client, google, SALES)
    campaign_id, first = first_email_sent(client, google, SALES)
    with processed_after(service, "gmail_replies"):
        pass  # the mailbox has been read once: it has a stored history id

    google.expire_history(SALES)
    reply = google.deliver(SALES, reply_to(first))

    [replied] = eventually(lambda: campaign_events(service, campaign_id, Enrollment.ContactReplied))
    assert replied.provider_message_id == reply.id and google.expired_answers >= 1
    # Read from the profile's history id on: the next reply is found through the history again.
    stored = eventually(
        lambda: (
            int(service.db.fetch_one("SELECT history_id FROM gmail_history")["history_id"])
            >= reply.history_id
        )
    )
    assert stored


def test_a_mailbox_whose_grant_was_revoked_does_not_stop_another_mailbox_being_read(service, google):
    revoked_brand, other_brand = Client(service), Client(service)
    revoked = mailbox(revoked_brand, google, "old@brand.example")  # read first in each pass
    mailbox(other_brand, google, "new@other.example")
    lost_campaign, lost_first = first_email_sent(revoked_brand, google, "old@brand.example")
    campaign_id, first = first_email_sent(other_brand, google, "new@other.example", to="bo@example.com")

    google.revoke("old@brand.example")
    google.deliver("old@brand.example", reply_to(lost_first))
    reply = google.deliver("new@other.example", reply_to(first))

    [replied] = eventually(lambda: campaign_events(service, campaign_id, Enrollment.ContactReplied))
    assert replied.provider_message_id == reply.id
    accounts = eventually(
        lambda: (
            (a := revoked_brand.ok(revoked_brand.get("/v1/sender-accounts"))["items"])[0]["status"]
            == "reconnect_required"
            and a
        )
    )
    assert [a["id"] for a in accounts] == [revoked["id"]]
    assert campaign_events(service, lost_campaign, Enrollment.ContactReplied) == []
