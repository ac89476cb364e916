"""The export reads stored bytes without building events: its JSON must be the one `event_to_json`
makes of the event object (the shape Kafka and the API use)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from uuid import uuid4

from commands.application import CampaignApplication
from domain.campaign import Campaign
from domain.credit_ledger import CreditLedger, Plan
from domain.enrollment import Enrollment
from domain.steps import Step
from projections.history.export_rows import without_secrets
from storage.compact_states import expanded
from storage.event_json import (
    ENVELOPE,
    event_to_json,
    stored_state_to_json,
    topic_type,
    without_personal_data,
)
from storage.stored_times import with_own_time

NOW = datetime(2026, 11, 29, 8, 30, tzinfo=UTC)


def events() -> list:
    brand = uuid4()
    ledger = CreditLedger.open(brand, Plan.BASIC, NOW)
    steps = [
        Step.from_dict({"type": "EMAIL", "group": 0, "order": 0, "id": "s1", "subject": "Hi", "body": "Hi"})
    ]
    campaign = Campaign.create(uuid4(), brand, "Q4", steps, NOW)
    campaign.launch(NOW, 1)
    ledger.reserve(campaign.id, 1, NOW)
    enrollment = Enrollment.enroll(
        campaign.id, brand, uuid4(), {"email": "a@example.com"}, campaign.steps, NOW
    )
    assert enrollment is not None
    for step in enrollment.dispatch_due(NOW):
        enrollment.attempt(step.id, "sender", NOW)
        enrollment.record_sent(step.id, "provider-1", 1, NOW)
    return [*ledger.collect_events(), *campaign.collect_events(), *enrollment.collect_events()]


def test_the_stored_bytes_give_the_same_json_as_the_event_object():
    store = CampaignApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    for event in events():
        stored = store.mapper.to_stored_event(event)
        # a later event's state is compacted, and an event's own time stored once: a reader of
        # the stored rows expands the one and puts the other back
        plain = with_own_time(stored.topic, stored_state_to_json(expanded(stored.state)))
        expected = event_to_json(0, event)
        assert plain["timestamp"] == expected["occurred_at"]
        data = {k: v for k, v in plain.items() if k not in ENVELOPE}
        # personal data show as `sealed` in both (docs/personal-data.md)
        assert without_personal_data(topic_type(stored.topic), data) == expected["data"]
        assert topic_type(stored.topic) == expected["type"]


def test_fields_named_like_secrets_are_dropped_at_any_depth():
    data = {"credentials": {"token": "x"}, "plan": [{"api_key": "k", "body": "hello"}], "amount": 1}
    assert without_secrets(data) == {"plan": [{"body": "hello"}], "amount": 1}


def test_the_type_of_a_topic_is_its_last_name_whether_nested_in_a_class_or_not():
    assert topic_type("domain.enrollment:Enrollment.StepSent") == "StepSent"
    assert topic_type("domain.enrollment_events:StepSent") == "StepSent"  # the class's own topic
    assert topic_type("eventsourcing.domain:Snapshot") == "Snapshot"
    assert topic_type("legacy:Thing") == "Thing"  # a module with no package


def test_only_the_transcoders_two_key_wrapper_is_unwrapped_not_any_two_key_object():
    state = b'{"sending_window": {"start": "09:00", "end": "17:00"}, "id": {"_type_": "uuid_hex", "_data_": "%b"}}'
    plain = stored_state_to_json(state % (b"a" * 32))
    assert plain == {
        "sending_window": {"start": "09:00", "end": "17:00"},
        "id": "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa",
    }


def sealed_with(key: str) -> str:
    """A value as `commands/personal_data/sealing.py` seals it: `pd1:<key id>:<nonce + ciphertext>`."""
    return f"pd1:{key}:{base64.urlsafe_b64encode(bytes(range(28))).decode()}"


ANNS_KEY, BOBS_KEY = str(uuid4()), str(uuid4())


def test_sealed_addresses_show_as_sealed_and_those_of_an_erased_person_as_erased():
    data = {
        "addresses": {"email": sealed_with(BOBS_KEY), "phone": sealed_with(ANNS_KEY), "voice": None},
        "contact_id": "c1",
    }
    shown = without_personal_data("ContactEnrolled", data, frozenset({ANNS_KEY}))
    assert shown == {"addresses": {"email": "sealed", "phone": "erased", "voice": None}, "contact_id": "c1"}


def test_an_address_already_opened_as_erased_stays_erased_and_a_sealed_one_stays_sealed():
    assert without_personal_data("ConsentOpened", {"address": "erased"}) == {"address": "erased"}
    assert without_personal_data(
        "ConsentOpened", {"address": sealed_with(ANNS_KEY)}, frozenset({BOBS_KEY})
    ) == {"address": "sealed"}


def test_an_event_with_no_personal_field_or_without_its_field_is_shown_as_stored():
    assert without_personal_data("CampaignCreated", {"name": "Q4"}, frozenset({ANNS_KEY})) == {"name": "Q4"}
    assert without_personal_data("ConsentOpened", {"brand_id": "b1"}) == {"brand_id": "b1"}


def test_the_json_of_an_erased_persons_enrollment_shows_their_address_as_erased():
    step = Step.from_dict(
        {"type": "EMAIL", "group": 0, "order": 0, "id": "s1", "subject": "Hi", "body": "Hi"}
    )
    enrollment = Enrollment.enroll(uuid4(), uuid4(), uuid4(), {"email": sealed_with(ANNS_KEY)}, [step], NOW)
    assert enrollment is not None
    (enrolled,) = enrollment.collect_events()
    assert event_to_json(3, enrolled, frozenset({ANNS_KEY}))["data"]["addresses"] == {"email": "erased"}
    assert event_to_json(3, enrolled)["data"]["addresses"] == {"email": "sealed"}


def test_an_object_that_merely_holds_a_data_key_is_read_as_stored():
    state = b'{"fields": {"_data_": "kept", "colour": "teal"}, "note": {"_data_": "alone"}}'
    assert stored_state_to_json(state) == {
        "fields": {"_data_": "kept", "colour": "teal"},
        "note": {"_data_": "alone"},
    }


def test_a_list_inside_a_list_is_read_whole_with_its_wrapped_values_unwrapped():
    state = b'{"rows": [[1, {"_type_": "uuid_hex", "_data_": "%b"}], [], [[true]]]}' % (b"b" * 32)
    assert stored_state_to_json(state) == {
        "rows": [[1, "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"], [], [[True]]]
    }
