"""The event catalogue docs/events.md is generated from: each class's version, fields with their
types and defaults, and one line per upcaster saying what changed."""

from __future__ import annotations

from domain.campaign import Campaign
from domain.enrollment import Enrollment
from domain.event_catalogue import EventField, catalogue, schema_of


def test_a_version_two_event_lists_its_fields_defaults_and_its_one_upcaster() -> None:
    schema = schema_of(Enrollment, Enrollment.StepDispatched)
    assert (schema.aggregate, schema.name, schema.version) == ("Enrollment", "StepDispatched", 2)
    assert schema.upcasts == ("v1 -> v2: Added `redispatched`: every v1 dispatch was a first one.",)
    assert schema.fields[-1] == EventField("redispatched", "bool", "False")
    assert EventField("step_id", "str", None) in schema.fields
    assert not {"originator_id", "originator_version", "timestamp"} & {f.name for f in schema.fields}


def test_a_first_version_event_has_no_upcaster() -> None:
    schema = schema_of(Campaign, Campaign.CampaignPaused)
    assert (schema.version, schema.upcasts) == (1, ())


def test_the_catalogue_holds_every_aggregates_events_once() -> None:
    names = [(s.aggregate, s.name) for s in catalogue()]
    assert len(names) == len(set(names))
    assert {"Campaign", "CreditLedger", "Enrollment"} == {aggregate for aggregate, _ in names}
    assert ("Enrollment", "StepSent") in names and ("CreditLedger", "CreditsReserved") in names
