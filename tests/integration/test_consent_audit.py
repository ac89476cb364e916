"""`campaign-service audit consent`: real campaigns sent through the desk (the test holds the clock),
then each kind of violation planted straight into the event store (a suppression, quiet hours or a
suspension recorded as an event while the list and tables the workers read say nothing of it, so
the next send goes out against it) and named by the audit with its log position. A clean brand
passes with its counts, whatever other brands on the same store did; a send at the provider when
its address was suppressed is allowed and named as a note."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from cryptography.fernet import Fernet

from commands.audience.suppressions import consent_ids, suppress
from commands.inbound.texts_received import receive_text
from commands.sending.providers import OutboundMessage
from domain.address_consent import AddressConsent
from domain.withdrawal import one_click_unsubscribe_words
from runtime.cli import main
from tests.api.api_support import service_on_own_database
from tests.integration.desk import ROLES, Desk, desk_for_a_new_brand
from tests.stored_rows import edit_states

T0 = datetime(2026, 12, 7, 12, tzinfo=UTC)
EMAIL = {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}
TEXT = {"type": "SMS", "group": 0, "body": "Hello"}
FOLLOW_UP = {"type": "EMAIL", "group": 1, "subject": "Again", "body": "Hello again"}
ANN = {"email": "ann@example.com", "phone": "+14155550101"}
BOB = {"email": "bob@example.com", "phone": "+14155550102"}
CY = {"email": "cy@example.com"}


@pytest.fixture(scope="module", params=["plain", "sealed"])
def service(server_url, request):
    """The service with personal data in plain text (no CREDENTIALS_KEY), and sealed per person:
    sealed, the audit matches addresses by their keyed hashes (docs/personal-data.md)."""
    key = {"credentials_key": Fernet.generate_key().decode()} if request.param == "sealed" else {}
    with service_on_own_database(server_url, roles=ROLES, **key) as running:
        yield running


@pytest.fixture
def audit(service, monkeypatch, capsys):
    """Runs the command on the service's database: (exit code, JSON report or table, standard error)."""
    url = service.settings.database_url.get_secret_value()
    monkeypatch.setenv("DATABASE_URL", url)

    def run(brand_id: UUID, form: str = "json") -> tuple[int, Any, str]:
        code = main(["audit", "consent", "--brand", str(brand_id), "--format", form])
        out, err = capsys.readouterr()
        return code, json.loads(out) if form == "json" and out else out, err

    return run


def new_desk(service) -> Desk:
    d = desk_for_a_new_brand(service)
    d.client.sender("email", f"sales-{uuid4().hex[:6]}@brand.example")
    d.client.sender("sms", f"+1415555{uuid4().int % 10_000:04d}")
    return d


def send_due(d: Desk, enrollments: list[UUID], now: datetime) -> int:
    return d.send(d.dispatch(enrollments, now), now).sent


def position_of(d: Desk, aggregate_id: UUID, event: str) -> int:
    """The log position of the aggregate's latest event of that type."""
    row = d.service.db.fetch_one(
        """SELECT notification_id FROM campaigns_events WHERE originator_id = %s AND topic LIKE %s
           ORDER BY originator_version DESC LIMIT 1""",
        (aggregate_id, f"%{event}"),
    )
    assert row is not None, f"no {event} of {aggregate_id}"
    return int(row["notification_id"])


def plant_suppression(d: Desk, address: str, now: datetime) -> UUID:
    """The address suppressed in the event log only: the list the workers read does not have it."""
    consent = AddressConsent.open(d.client.brand_id, address, now)
    consent.suppress("planted by the test", now)
    d.store.save(consent)
    return consent.id


def test_a_clean_brand_passes_with_its_counts_whatever_another_brand_did(service, audit):
    d = new_desk(service)
    campaign = d.campaign([ANN, BOB, CY], [EMAIL, TEXT, FOLLOW_UP])
    enrollments = d.launch(campaign, T0)
    assert send_due(d, enrollments, T0) == 5  # three emails, two texts
    brand = d.client.brand_id
    receive_text(d.store, d.service.db, brand, BOB["phone"], "STOP", "SM-stop", T0 + timedelta(hours=1))
    receive_text(d.store, d.service.db, brand, BOB["phone"], "START", "SM-start", T0 + timedelta(hours=2))
    suppress(d.store, d.service.db, brand, CY["email"], one_click_unsubscribe_words(campaign), T0)
    assert send_due(d, enrollments, T0 + timedelta(days=1)) == 2  # the follow-ups of ann and bob

    other = new_desk(service)  # another brand on the same store breaks every rule meanwhile
    [its_contact] = other.launch(other.campaign([ANN], [EMAIL, TEXT]), T0)
    plant_suppression(other, ANN["email"], T0)
    ledger = other.store.ledger(other.client.brand_id)
    ledger.suspend("planted", "test", T0)
    other.store.save(ledger)
    assert send_due(other, [its_contact], T0) == 2
    assert audit(other.client.brand_id)[0] == 1

    code, report, err = audit(brand)
    assert code == 0, err
    assert report["counts"] == {
        "sends_checked": 7,
        "suppressions": 2,
        "opt_outs": 2,
        "opt_ins": 1,
        "quiet_hour_sends": 2,
        "suspensions": 0,
    }
    assert report["violations"] == [] and report["in_flight"] == [] and report["chain"]["intact"]
    assert "clean (7 sends checked)" in err
    code, table, _ = audit(brand, "table")
    assert code == 0 and "sends checked" in table and "opt outs" in table and "intact" in table


def test_a_send_to_an_address_suppressed_in_the_log_is_named_with_its_log_position(service, audit):
    d = new_desk(service)
    [ann] = d.launch(d.campaign([ANN], [EMAIL, TEXT]), T0)
    suppressed = plant_suppression(d, ANN["phone"], T0)
    assert send_due(d, [ann], T0) == 2  # the list did not have it: the text went out
    sent_at = position_of(d, ann, "StepSent")

    code, report, err = audit(d.client.brand_id)
    assert code == 1
    [violation] = report["violations"]
    assert violation["kind"] == "sent-after-suppression" and violation["channel"] == "sms"
    assert violation["position"] == sent_at
    assert violation["since"] == position_of(d, suppressed, "AddressSuppressed")
    assert violation["contact_id"] == str(d.enrollment(ann).contact_id)
    assert f"sent-after-suppression (log position {sent_at})" in err


def test_a_text_outside_the_quiet_hours_in_the_log_is_named(service, audit):
    d = new_desk(service)
    [ann] = d.launch(d.campaign([ANN], [TEXT]), T0)
    ledger = d.store.ledger(d.client.brand_id)
    ledger.change_quiet_hours("08:00", "09:00", T0)  # the settings the workers read still allow noon
    d.store.save(ledger)
    assert send_due(d, [ann], T0) == 1

    code, report, err = audit(d.client.brand_id)
    assert code == 1
    [violation] = report["violations"]
    assert violation["kind"] == "sent-in-quiet-hours"
    assert violation["position"] == position_of(d, ann, "StepSent")
    assert "12:00" in violation["detail"] and "08:00-09:00" in violation["detail"]
    assert report["counts"]["quiet_hour_sends"] == 1
    assert "sent-in-quiet-hours (log position" in err


def test_a_send_of_a_brand_suspended_in_the_log_is_named(service, audit):
    d = new_desk(service)
    [ann] = d.launch(d.campaign([ANN], [EMAIL]), T0)
    ledger = d.store.ledger(d.client.brand_id)
    ledger.suspend("planted by the test", "test", T0)  # the brands row the workers read says active
    d.store.save(ledger)
    assert send_due(d, [ann], T0) == 1

    code, report, err = audit(d.client.brand_id)
    assert code == 1
    [violation] = report["violations"]
    assert violation["kind"] == "sent-while-suspended"
    assert violation["position"] == position_of(d, ann, "StepSent")
    assert violation["since"] == position_of(d, ledger.id, "BrandSuspended")
    assert report["counts"]["suspensions"] == 1
    assert "sent-while-suspended (log position" in err


def test_a_send_already_at_the_provider_when_its_address_was_suppressed_is_a_note(service, audit):
    d = new_desk(service)
    [ann] = d.launch(d.campaign([ANN], [EMAIL]), T0)

    def unsubscribed_meanwhile(_message: OutboundMessage) -> None:
        suppress(d.store, d.service.db, d.client.brand_id, ANN["email"], "asked", T0)

    d.provider.during = unsubscribed_meanwhile
    assert send_due(d, [ann], T0) == 1

    code, report, err = audit(d.client.brand_id)
    assert code == 0, err
    [note] = report["in_flight"]
    assert note["before"] == "suppression" and note["position"] == position_of(d, ann, "StepSent")
    assert note["attempted_position"] == position_of(d, ann, "StepAttempted") < note["since"]
    _, table, _ = audit(d.client.brand_id, "table")
    assert "already at the provider" in table


def test_an_edited_event_row_fails_the_audit_as_tampered(service, audit):
    d = new_desk(service)
    [ann] = d.launch(d.campaign([ANN], [EMAIL]), T0)
    assert send_due(d, [ann], T0) == 1
    url = service.settings.database_url.get_secret_value()
    with psycopg.connect(url) as conn:
        edit_states(
            conn, "originator_id = %s AND topic LIKE %s", [ann, "%StepSent"], b'"credits":1', b'"credits":0'
        )
    code, _, err = audit(d.client.brand_id)
    assert code == 1 and "tampered history" in err and "changed after it was stored" in err


def test_an_unknown_brand_is_a_clear_error(service, audit):
    code, _, err = audit(uuid4())
    assert code == 2 and "no brand" in err
    assert main(["audit", "consent", "--brand", "not-a-uuid"]) == 2


def events_of(d: Desk, aggregate_id: UUID) -> list[Any]:
    return list(d.store.events.get(aggregate_id))


def test_every_change_of_the_suppression_list_and_of_the_hours_is_an_event(service):
    d = new_desk(service)
    client, number = d.client, "+14155550199"
    client.ok(client.post("/v1/suppressions", {"address": "+1 (415) 555-0199", "reason": "asked"}), 201)
    client.ok(client.post("/v1/suppressions", {"address": number, "reason": "again"}))
    assert client.http.delete(f"/v1/suppressions/{number}").status_code == 204
    client.ok(client.post("/v1/suppressions", {"address": number, "reason": "asked twice"}), 201)
    consent_id = consent_ids(d.store, client.brand_id, number)[0]
    history = events_of(d, consent_id)
    assert [type(e).__name__ for e in history] == [
        "ConsentOpened",
        "AddressSuppressed",
        "SuppressionLifted",
        "AddressSuppressed",
    ]
    # the event keeps the address sealed when personal data are (the store opens it)
    assert d.store.find(consent_id).address == number and history[0].brand_id == client.brand_id
    assert (history[1].reason, history[1].cause) == ("asked", "suppressed")

    hours = {"allowed_from": "09:00", "allowed_until": "20:00"}
    client.ok(client.http.put("/v1/messaging-settings", json=hours))
    client.ok(client.http.put("/v1/messaging-settings", json={**hours, "help_text": "Reply STOP"}))
    changes = [
        e for e in events_of(d, d.store.ledger(client.brand_id).id) if "QuietHours" in type(e).__name__
    ]
    assert [(e.allowed_from, e.allowed_until) for e in changes] == [("00:00", "24:00"), ("09:00", "20:00")]


def test_a_stop_and_a_start_are_recorded_with_their_keywords(service):
    d = new_desk(service)
    number, brand = "+14155550198", d.client.brand_id
    receive_text(d.store, d.service.db, brand, number, "stop", "SM-1", T0)
    receive_text(d.store, d.service.db, brand, number, "Unstop", "SM-2", T0 + timedelta(minutes=1))
    suppressed, lifted = events_of(d, consent_ids(d.store, brand, number)[0])[1:]
    assert (suppressed.cause, suppressed.reason) == ("stop_keyword", "SMS keyword STOP")
    assert lifted.reason == "SMS keyword UNSTOP" and lifted.lifted_at == T0 + timedelta(minutes=1)


def test_an_entry_whose_event_a_crash_lost_is_recorded_when_added_again(service):
    d = new_desk(service)
    brand, address = d.client.brand_id, "dan@example.com"
    d.service.db.execute(  # the list's row written, then the process died before the event
        "INSERT INTO suppressions (brand_id, address, reason, created_at) VALUES (%s, %s, 'asked', %s)",
        (brand, address, T0),
    )
    suppress(d.store, d.service.db, brand, address, "asked", T0 + timedelta(minutes=1))
    history = events_of(d, consent_ids(d.store, brand, address)[0])
    assert [type(e).__name__ for e in history] == ["ConsentOpened", "AddressSuppressed"]
