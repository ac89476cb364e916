"""Whose an event is, for the operator who reads what was parked: its own brand field, else the
brand of its campaign's first event, else of its own aggregate's first event; a lookup that fails
is only a hint lost, never a reason to stop looking."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from eventsourcing.persistence import StoredEvent

from commands.application import CampaignApplication
from domain.campaign import Campaign
from domain.enrollment import Enrollment
from domain.steps import Step
from storage.event_log import brand_of

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
STEP = Step.from_dict({"type": "EMAIL", "group": 0, "order": 0, "id": "s0", "subject": "Hi", "body": "Hi"})


def in_memory_store() -> CampaignApplication:
    return CampaignApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def test_an_event_that_names_its_brand_is_that_brands_even_when_its_aggregate_was_never_stored():
    brand = uuid4()
    campaign = Campaign.create(uuid4(), brand, "Q4", [STEP], NOW)
    (created,) = campaign.collect_events()

    assert brand_of(in_memory_store(), created) == brand


def test_a_send_whose_campaign_cannot_be_read_is_given_the_brand_its_enrollments_first_event_names():
    store = in_memory_store()
    brand, campaign_id = uuid4(), uuid4()
    # The campaign's first event was stored by a release whose event class is gone: it cannot be read.
    store.recorder.insert_events([StoredEvent(campaign_id, 1, "domain.retired:Retired.Created", b"{}")])
    enrollment = Enrollment.enroll(campaign_id, brand, uuid4(), {"email": "ann@example.com"}, [STEP], NOW)
    assert enrollment is not None
    for step in enrollment.dispatch_due(NOW):
        enrollment.attempt(step.id, "sender", NOW)
        enrollment.record_sent(step.id, "provider-1", 1, NOW)
    store.save(enrollment)
    sent = store.mapper.to_domain_event(store.recorder.select_events(enrollment.id)[-1])
    assert type(sent).__name__ == "StepSent" and not hasattr(sent, "brand_id")

    assert brand_of(store, sent) == brand


def test_an_event_of_no_stored_aggregate_and_no_brand_of_its_own_belongs_to_no_known_brand():
    store = in_memory_store()
    enrollment = Enrollment.enroll(uuid4(), uuid4(), uuid4(), {"email": "ann@example.com"}, [STEP], NOW)
    assert enrollment is not None
    enrollment.dispatch_due(NOW)
    (dispatched,) = [e for e in enrollment.collect_events() if type(e).__name__ == "StepDispatched"]

    assert brand_of(store, dispatched) is None
