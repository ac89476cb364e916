"""Campaigns sent through the Gmail adapter: the real Google SDK against a loopback fake of Google.

The service is built as production builds it, with GMAIL_API_BASE_URL pointing at the fake
(provider_fakes/google.py), which checks tokens and MIME like Gmail and keeps what it took: the
witness that every email went out once, with the headers mailbox providers need.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from commands.sending.providers import PROVIDER_CONCURRENCY
from consumers.providers.gmail.outgoing_mail import message_id_for
from domain.enrollment import Enrollment
from provider_fakes.google import FakeGoogle
from tests.support import Client, campaign_events, eventually, running_service

KEY = Fernet.generate_key().decode()
PUBLIC = "http://127.0.0.1:8765"
HTML_EMAIL = {
    "type": "EMAIL",
    "group": 0,
    "subject": "Hi {{first_name|there}}",
    "body": "<p>Hello {{first_name|there}},</p><p>A <b>short</b> note.</p>",
}
FOLLOW_UP = {"type": "EMAIL", "group": 1, "subject": "Re: Hi", "body": "Just following up."}
DAY = 86_400
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    fake = FakeGoogle().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def service(database_url: str, google: FakeGoogle) -> Iterator[Any]:
    with running_service(
        database_url,
        dev_clock=True,
        credentials_key=KEY,
        gmail_api_base_url=google.api_base_url,
        public_base_url=PUBLIC,
        gmail_timeout=5.0,
    ) as container:
        yield container


def mailbox(client: Client, google: FakeGoogle, address: str, daily_limit: int = 50) -> dict[str, Any]:
    body = {
        "channel": "email",
        "provider": "gmail",
        "address": address,
        "daily_limit": daily_limit,
        "credentials": google.mailbox(address),
    }
    return client.ok(client.post("/v1/sender-accounts", body), 201)


def launch(client: Client, contacts: list[dict[str, Any]], steps: list[dict[str, Any]]) -> str:
    campaign_id = client.campaign(client.lead_group(contacts), steps)
    client.ok(client.post(f"/v1/campaign/{campaign_id}/launch"))
    return campaign_id


def completed(client: Client, campaign_id: str) -> dict[str, Any]:
    return eventually(
        lambda: (d := client.ok(client.get(f"/v1/campaign/{campaign_id}")))["status"] == "COMPLETED" and d
    )


def test_a_campaign_goes_out_through_gmail_with_one_click_unsubscribe_and_a_deterministic_message_id(
    service, google
):
    client = Client(service)
    mailbox(client, google, "sales@brand.example")
    people = [{"email": "ada@example.com", "first_name": "Ada"}, {"email": "bo@example.com"}]
    campaign_id = launch(client, people, [HTML_EMAIL])

    done = completed(client, campaign_id)
    assert done["metrics"]["sent"]["email"] == 2
    sent = {m.parsed["To"]: m for m in eventually(lambda: len(google.messages()) == 2 and google.messages())}
    assert set(sent) == {"ada@example.com", "bo@example.com"}
    attempted = {e.originator_id: e for e in campaign_events(service, campaign_id, Enrollment.StepAttempted)}
    recorded = {e.provider_message_id for e in campaign_events(service, campaign_id, Enrollment.StepSent)}
    assert recorded == {m.id for m in sent.values()}
    for message in sent.values():
        mail, headers = message.parsed, message.headers
        assert mail["From"] == "sales@brand.example"
        assert mail["Subject"] in ("Hi Ada", "Hi there")
        # Literally `<URL>` on one line: no RFC 2047 encoded words, no folding.
        unsubscribe = next(line for line in headers.split(b"\r\n") if line.startswith(b"List-Unsubscribe:"))
        assert unsubscribe.startswith(b"List-Unsubscribe: <" + PUBLIC.encode() + b"/u/")
        assert unsubscribe.endswith(b">") and b"=?" not in unsubscribe
        assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in headers + b"\r\n"
        token = unsubscribe.decode().split("/u/", 1)[1].rstrip(">")
        request = service.parts.unsubscribe_tokens.read(token)
        assert request.address == mail["To"] and request.campaign_id == UUID(campaign_id)
        assert request.brand_id == client.brand_id
        enrollment = Enrollment.create_id(UUID(campaign_id), request.contact_id)
        assert mail["Message-ID"] == message_id_for(attempted[enrollment].message_key, "sales@brand.example")
        assert mail.get_content_type() == "multipart/alternative"
        parts = {part.get_content_type(): part.get_content() for part in mail.iter_parts()}
        assert "<b>short</b>" in parts["text/html"]
        assert "A short note." in parts["text/plain"] and "<" not in parts["text/plain"]


def test_a_slow_gmail_has_at_most_the_channels_places_of_sends_waiting_on_it(service, google):
    """Sends are prepared two per place, but only PROVIDER_CONCURRENCY calls wait on Gmail at once."""
    google.send_latency_s = 0.2
    client = Client(service)
    mailbox(client, google, "sales@brand.example", daily_limit=100)
    people = [{"email": f"lead{i}@example.com"} for i in range(3 * PROVIDER_CONCURRENCY)]
    campaign_id = launch(client, people, [HTML_EMAIL])

    assert completed(client, campaign_id)["metrics"]["sent"]["email"] == len(people)
    assert len(google.messages("sales@brand.example")) == len(people)
    assert 1 < google.most_sends_at_once <= PROVIDER_CONCURRENCY


def test_a_follow_up_from_the_same_mailbox_replies_in_the_same_thread(service, google):
    client = Client(service)
    mailbox(client, google, "sales@brand.example")
    campaign_id = launch(client, [{"email": "ada@example.com"}], [HTML_EMAIL, FOLLOW_UP])

    first = eventually(lambda: google.messages())[0]
    # The follow-up is due a day after the first send is recorded (the read model shows it then).
    eventually(lambda: client.ok(client.get(f"/v1/campaign/{campaign_id}"))["metrics"]["sent"]["email"] == 1)
    client.ok(client.post("/v1/dev/clock/advance", {"seconds": DAY + 60}))
    completed(client, campaign_id)
    messages = google.messages()
    assert len(messages) == 2
    follow_up = messages[1]
    assert follow_up.thread_id == first.thread_id
    assert follow_up.parsed["In-Reply-To"] == first.parsed["Message-ID"]
    assert follow_up.parsed["References"] == first.parsed["Message-ID"]
    assert follow_up.parsed["Message-ID"] != first.parsed["Message-ID"]
    assert follow_up.parsed.get_content_type() == "text/plain"  # no HTML in the body: one part


def test_an_answer_lost_after_gmail_took_the_message_causes_no_second_email(service, google):
    client = Client(service)
    mailbox(client, google, "sales@brand.example")
    google.fail_next_sends("lost")
    campaign_id = launch(client, [{"email": "ada@example.com"}], [HTML_EMAIL])

    done = completed(client, campaign_id)
    assert done["metrics"]["sent"]["email"] == 1 and done["metrics"]["failed"] == 0
    assert len(google.messages()) == 1 and google.send_calls == 1
    sent = campaign_events(service, campaign_id, Enrollment.StepSent)
    assert [e.provider_message_id for e in sent] == [google.messages()[0].id]


def test_a_server_error_is_looked_up_then_retried_later_and_sent_once(service, google):
    client = Client(service)
    mailbox(client, google, "sales@brand.example")
    google.fail_next_sends("500")
    campaign_id = launch(client, [{"email": "ada@example.com"}], [HTML_EMAIL])

    deferred = eventually(lambda: campaign_events(service, campaign_id, Enrollment.StepDeferred))
    assert "gmail 500" in deferred[0].reason
    client.ok(client.post("/v1/dev/clock/advance", {"seconds": 61}))
    completed(client, campaign_id)
    assert len(google.messages()) == 1 and google.send_calls == 2


def test_a_rate_limited_send_is_retried_later_and_goes_out_once(service, google):
    client = Client(service)
    account = mailbox(client, google, "sales@brand.example")
    google.fail_next_sends("429")
    campaign_id = launch(client, [{"email": "ada@example.com"}], [HTML_EMAIL])

    deferred = eventually(lambda: campaign_events(service, campaign_id, Enrollment.StepDeferred))
    assert "429" in deferred[0].reason and "rateLimitExceeded" in deferred[0].reason
    assert google.messages() == []
    client.ok(client.post("/v1/dev/clock/advance", {"seconds": 61}))
    done = completed(client, campaign_id)
    assert done["metrics"]["sent"]["email"] == 1
    assert len(google.messages()) == 1 and google.send_calls == 2
    accounts = client.ok(client.get("/v1/sender-accounts"))["items"]
    assert [a["sends_today"] for a in accounts if a["id"] == account["id"]] == [1]


def test_a_daily_limit_parks_the_mailbox_for_the_day_and_the_step_waits(service, google):
    client = Client(service)
    account = mailbox(client, google, "sales@brand.example", daily_limit=20)
    google.fail_next_sends("daily_limit")
    campaign_id = launch(client, [{"email": "ada@example.com"}], [HTML_EMAIL])

    deferred = eventually(lambda: campaign_events(service, campaign_id, Enrollment.StepDeferred))
    assert "dailyLimitExceeded" in deferred[0].reason
    accounts = client.ok(client.get("/v1/sender-accounts"))["items"]
    assert [(a["sends_today"], a["status"]) for a in accounts if a["id"] == account["id"]] == [(20, "active")]
    assert google.messages() == []


def test_a_revoked_grant_requires_reconnecting_and_the_brands_other_mailbox_sends_the_step(
    service, google, caplog
):
    caplog.set_level(logging.DEBUG)
    client = Client(service)
    # The rotation tries the account with the most quota left first: the revoked one.
    revoked = mailbox(client, google, "old@brand.example", daily_limit=50)
    other = mailbox(client, google, "new@brand.example", daily_limit=40)
    secrets = [value for box in google.mailboxes.values() for value in (box.refresh_token, box.client_secret)]
    google.revoke("old@brand.example")
    campaign_id = launch(client, [{"email": "ada@example.com"}], [HTML_EMAIL])

    deferred = eventually(lambda: campaign_events(service, campaign_id, Enrollment.StepDeferred))
    assert "reconnect" in deferred[0].reason or "invalid_grant" in deferred[0].reason
    statuses = {a["id"]: a["status"] for a in client.ok(client.get("/v1/sender-accounts"))["items"]}
    assert statuses == {revoked["id"]: "reconnect_required", other["id"]: "active"}
    client.ok(client.post("/v1/dev/clock/advance", {"seconds": 61}))
    done = completed(client, campaign_id)
    assert done["metrics"]["sent"]["email"] == 1
    assert [m.mailbox for m in google.messages()] == ["new@brand.example"]
    sent = campaign_events(service, campaign_id, Enrollment.StepSent)
    assert [e.sender_account_id for e in sent] == [other["id"]]

    # No credential anywhere a person or a downstream system can read it.
    events = client.ok(client.get(f"/v1/campaign/{campaign_id}/events"))
    answers = json.dumps([events, client.ok(client.get("/v1/sender-accounts"))])
    executions = json.dumps(client.ok(client.get(f"/v1/campaign/{campaign_id}/executions")))
    stored_events = json.dumps([str(e.__dict__) for e in campaign_events(service, campaign_id, object)])
    access_tokens = list(google._access)
    for secret in [*secrets, *access_tokens]:
        assert secret not in caplog.text
        assert secret not in answers and secret not in executions and secret not in stored_events


def test_one_click_unsubscribe_from_the_email_suppresses_the_address_and_stops_its_follow_up(service, google):
    client = Client(service)
    mailbox(client, google, "sales@brand.example")
    campaign_id = launch(client, [{"email": "ada@example.com"}], [HTML_EMAIL, FOLLOW_UP])
    first = eventually(lambda: google.messages())[0]
    link = first.parsed["List-Unsubscribe"].strip("<>")
    path = link.removeprefix(PUBLIC)
    anyone = TestClient(service.http_app())  # no API key: the link is all the recipient has

    token = path.removeprefix("/u/")
    forged = "/u/" + token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert anyone.get(forged).status_code == 404
    assert anyone.post(forged, content=b"List-Unsubscribe=One-Click", headers=FORM).status_code == 404
    assert client.ok(client.get("/v1/suppressions"))["items"] == []

    page = anyone.get(path)
    assert page.status_code == 200 and "ada@example.com" in page.text and 'method="post"' in page.text
    assert anyone.post(path, content=b"", headers=FORM).status_code == 422
    done = anyone.post(path, content=b"List-Unsubscribe=One-Click", headers=FORM)
    assert done.status_code == 200, done.text
    assert [s["address"] for s in client.ok(client.get("/v1/suppressions"))["items"]] == ["ada@example.com"]

    eventually(lambda: client.ok(client.get(f"/v1/campaign/{campaign_id}"))["metrics"]["sent"]["email"] == 1)
    client.ok(client.post("/v1/dev/clock/advance", {"seconds": DAY + 60}))
    completed(client, campaign_id)
    assert len(google.messages()) == 1  # the follow-up never went


def test_a_follow_up_whose_thread_was_deleted_opens_a_new_one(service, google):
    client = Client(service)
    mailbox(client, google, "sales@brand.example")
    campaign_id = launch(client, [{"email": "ada@example.com"}], [HTML_EMAIL, FOLLOW_UP])
    first = eventually(lambda: google.messages())[0]
    eventually(lambda: client.ok(client.get(f"/v1/campaign/{campaign_id}"))["metrics"]["sent"]["email"] == 1)
    google.delete_thread(first.thread_id)

    client.ok(client.post("/v1/dev/clock/advance", {"seconds": DAY + 60}))
    done = completed(client, campaign_id)
    assert done["metrics"]["sent"]["email"] == 2 and done["metrics"]["failed"] == 0
    [follow_up] = google.messages()
    assert follow_up.thread_id != first.thread_id and follow_up.parsed["In-Reply-To"] is None


def test_an_answer_slower_than_the_timeout_is_found_in_the_mailbox_not_sent_again(database_url, google):
    with running_service(
        database_url,
        credentials_key=KEY,
        gmail_api_base_url=google.api_base_url,
        public_base_url=PUBLIC,
        # The fake holds the send's answer until the test ends, so the client gives up on it first;
        # the mailbox's lookup after it has the same limit, and at 0.5 s a loaded CI machine once
        # answered it too late (the send then stays unsure, and the test's 30 s ran out).
        gmail_timeout=2.0,
    ) as service:
        client = Client(service)
        mailbox(client, google, "sales@brand.example")
        google.fail_next_sends("slow")
        campaign_id = launch(client, [{"email": "ada@example.com"}], [HTML_EMAIL])

        done = completed(client, campaign_id)
        assert done["metrics"]["sent"]["email"] == 1
        assert len(google.messages()) == 1 and google.send_calls == 1


def test_a_message_gmail_refuses_fails_for_good_and_releases_its_credit(service, google):
    client = Client(service)
    credentials = google.mailbox("someone-else@brand.example")  # a grant for another mailbox
    body = {
        "channel": "email",
        "provider": "gmail",
        "address": "sales@brand.example",
        "credentials": credentials,
    }
    client.ok(client.post("/v1/sender-accounts", {**body, "daily_limit": 50}), 201)
    campaign_id = launch(client, [{"email": "ada@example.com"}], [HTML_EMAIL])

    done = completed(client, campaign_id)
    done = eventually(
        lambda: (d := client.ok(client.get(f"/v1/campaign/{campaign_id}")))["credits"]["released"] and d
    )
    assert done["metrics"]["failed"] == 1 and done["credits"]["released"] == 1
    [failed] = campaign_events(service, campaign_id, Enrollment.StepFailed)
    assert "gmail 400" in failed.reason and "is not the mailbox" in failed.reason
    assert google.messages() == [] and google.send_calls == 1
    accounts = client.ok(client.get("/v1/sender-accounts"))["items"]
    assert [a["sends_today"] for a in accounts] == [0]  # the unit is given back


def test_fresh_credentials_put_a_mailbox_that_needs_reconnecting_back_in_rotation(service, google):
    client = Client(service)
    account = mailbox(client, google, "sales@brand.example")
    google.revoke("sales@brand.example")
    campaign_id = launch(client, [{"email": "ada@example.com"}], [HTML_EMAIL])
    eventually(lambda: campaign_events(service, campaign_id, Enrollment.StepDeferred))
    assert client.ok(client.get("/v1/sender-accounts"))["items"][0]["status"] == "reconnect_required"

    path = f"/v1/sender-accounts/{account['id']}/credentials"
    assert (
        Client(service).http.put(path, json={"credentials": google.mailbox("x@brand.example")}).status_code
        == 404
    )
    assert client.http.put(path, json={"credentials": {"refresh_token": "only"}}).status_code == 422
    fresh = google.mailbox("sales@brand.example")  # the owner ran `gmail authorize` again
    answer = client.ok(client.http.put(path, json={"credentials": fresh}))
    assert answer["status"] == "active" and "credentials" not in answer

    client.ok(client.post("/v1/dev/clock/advance", {"seconds": 61}))
    completed(client, campaign_id)
    assert [m.mailbox for m in google.messages()] == ["sales@brand.example"]
