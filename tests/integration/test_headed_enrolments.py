"""A sealed enrolment is stored headed (storage/compact_states.py; decision record 35): its owners'
hex and its dispatched channels in plain, the rest deflated. Smaller, read back the same, and still
found by everything that reads the stored rows with SQL: a brand's audit streams, the export's
campaign of a later event, the relays' search for a channel, the as-of tails' for a campaign; and
never mistaken by the resealer for an enrolment holding plain addresses."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from cryptography.fernet import Fernet
from psycopg.sql import SQL

from commands.application import CampaignApplication
from commands.personal_data.resealing import brands_to_reseal, plain_events
from domain.enrollment import Enrollment
from domain.steps import Step, StepType
from projections.history.brand_streams import owned
from storage.compact_states import DICTIONARY_ENROLMENT, MARK_HEADED, expanded, owner_sql, stored_like
from storage.database import event_store_env
from storage.event_json import sealed_key_ids
from storage.event_log import events_table, read_log
from storage.stored_events import pages
from tests.support import running_service

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
STEPS = [
    Step(id="e0", type=StepType.EMAIL, group=0, order=0, subject="Hi {{first_name}}", body="Hello"),
    Step(id="s0", type=StepType.SMS, group=1, order=0, body="Hi"),
]
ADDRESSES = {"email": "ann@example.com", "sms": "+14155550100"}
ENROLLED = "domain.enrollment:Enrollment.ContactEnrolled"
ATTEMPTED = "domain.enrollment:Enrollment.StepAttempted"  # names no campaign: the export asks PostgreSQL


@pytest.fixture
def store(database_url: str) -> Iterator[CampaignApplication]:
    """The service's store, sealing personal data as `serve` does."""
    with running_service(database_url, credentials_key=Fernet.generate_key().decode(), roles=()) as service:
        yield service.store


def _enrolled(store: CampaignApplication, brand: UUID, campaign: UUID) -> Enrollment:
    """An enrolment whose first email is dispatched with it (as launches enrol), then attempted and
    sent, saved."""
    enrollment = Enrollment.enroll(campaign, brand, uuid4(), dict(ADDRESSES), STEPS, NOW, dispatch=True)
    assert enrollment is not None
    store.save(enrollment)
    enrollment.attempt("e0", str(uuid4()), NOW + timedelta(seconds=1))
    enrollment.record_sent("e0", f"<{uuid4()}@mail>", 1, NOW + timedelta(seconds=2))
    store.save(enrollment)
    return enrollment


def _first_row(url: str, aggregate_id: UUID) -> bytes:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT state FROM campaigns_events WHERE originator_id = %s AND originator_version = 1",
            (aggregate_id,),
        ).fetchone()
    assert row is not None
    return bytes(row[0])


def test_a_sealed_enrolment_is_stored_headed_in_a_third_of_its_json_and_reads_back_the_same(
    store, database_url
):
    brand, campaign = uuid4(), uuid4()
    enrollment = Enrollment.enroll(campaign, brand, uuid4(), dict(ADDRESSES), STEPS, NOW, dispatch=True)
    assert enrollment is not None
    created = next(iter(enrollment.collect_events()))
    original = dict(vars(created))
    store.recorder.insert_events([store.mapper.to_stored_event(created)])

    stored = _first_row(database_url, enrollment.id)
    assert stored[:1] == MARK_HEADED
    assert stored[1:33] == brand.bytes + campaign.bytes
    assert stored[33 : stored.index(b"\x00", 33)] == b'"channel":"email"'
    json = expanded(stored)
    assert json.startswith(b'{"timestamp":') and b'"pd1:' in json
    assert len(stored) < 0.4 * len(json)
    [row] = store.recorder.select_events(enrollment.id)
    read = store.mapper.to_domain_event(row)
    sealed = ("addresses", "address_hashes")  # sealed and hashed as stored: opened below
    assert {k: v for k, v in vars(read).items() if k not in sealed} == {
        k: v for k, v in original.items() if k not in sealed
    }
    assert store.enrollment(enrollment.id).addresses == ADDRESSES  # opened with the contact's key


def test_postgresql_reads_the_owners_of_headed_and_json_first_events_alike(store, database_url):
    brand, campaign = uuid4(), uuid4()
    enrollment = _enrolled(store, brand, campaign)
    table = events_table(store)
    with psycopg.connect(database_url) as conn:
        owners = conn.execute(
            SQL(
                f"""SELECT {owner_sql("state", "brand_id")}, {owner_sql("state", "campaign_id")}
                      FROM {{}} WHERE originator_id = %s AND originator_version = 1"""
            ).format(table),
            (enrollment.id,),
        ).fetchone()
        assert owners == (brand.hex, campaign.hex)
        assert owned(conn, table, ENROLLED, brand) == [enrollment.id]  # the audits' streams
        assert owned(conn, table, ENROLLED, uuid4()) == []
        rows = [row for page in pages(conn, table, through=10**9, ownerless=[ATTEMPTED]) for row in page]
    attempted = [row for row in rows if row.topic == ATTEMPTED]
    assert [row.owner_campaign for row in attempted] == [campaign.hex]  # the export's owner


def test_the_log_finds_a_headed_enrolment_by_its_dispatched_channel_and_its_campaign_only(store):
    start = store.recorder.max_notification_id() or 0
    campaign = uuid4()
    mine, other = _enrolled(store, uuid4(), campaign), _enrolled(store, uuid4(), uuid4())
    head = store.recorder.max_notification_id() or 0
    enrolled = [Enrollment.ContactEnrolled]

    by_email, _ = read_log(store, start, 1000, enrolled, ("channel", ["email"]))
    assert {e.originator_id for _, e in by_email} == {mine.id, other.id}
    assert read_log(store, start, 1000, enrolled, ("channel", ["sms"]))[0] == []
    # not even handed over by PostgreSQL: the relays of other channels decode none of them
    assert store.recorder.select_rows(start, head, [ENROLLED], 1000, [b'"channel":"sms"']) == []
    by_campaign, _ = read_log(store, start, 1000, enrolled, ("campaign_id", [campaign]))
    assert [e.originator_id for _, e in by_campaign] == [mine.id]


def test_the_keys_of_a_headed_enrolments_sealed_values_are_found_for_showing_them_erased(store, database_url):
    enrollment = _enrolled(store, uuid4(), uuid4())
    assert sealed_key_ids([_first_row(database_url, enrollment.id)]) == {str(enrollment.contact_id)}


def test_the_resealer_counts_no_headed_enrolment_as_holding_plain_addresses(store, database_url):
    brand = uuid4()
    _enrolled(store, brand, uuid4())
    assert plain_events(store, database_url, brand) == 0
    assert brand not in brands_to_reseal(store, database_url)


def test_an_enrolment_with_an_address_in_plain_text_is_never_stored_headed(database_url):
    """Without a key the addresses stay plain: the row stays JSON, where the resealer finds it."""
    plain = CampaignApplication(env=event_store_env(database_url))
    try:
        enrollment = _enrolled(plain, uuid4(), uuid4())
        assert _first_row(database_url, enrollment.id).startswith(b'{"timestamp":')
    finally:
        plain.close()


def test_a_state_written_back_the_way_it_was_stored_stays_headed_with_its_head_from_the_new_json(
    store, database_url
):
    brand, campaign, moved = uuid4(), uuid4(), uuid4()
    enrollment = _enrolled(store, brand, campaign)
    stored = _first_row(database_url, enrollment.id)
    changed: Any = stored_like(stored, expanded(stored).replace(brand.hex.encode(), moved.hex.encode()))
    assert changed[:1] == MARK_HEADED and changed[1:17] == moved.bytes
    assert expanded(changed) == expanded(stored).replace(brand.hex.encode(), moved.hex.encode())


def test_the_enrolment_dictionary_is_part_of_the_stored_format_and_never_changes():
    assert hashlib.sha256(DICTIONARY_ENROLMENT).hexdigest() == (
        "b2ed87b9e1e2ffaa701f88bddfde6c8603a4cc2da6b38ef09218141471b298ba"
    )
