"""The event catalogue docs/events.md is generated from: each class's version, fields with their
types and defaults, and one line per upcaster saying what changed."""

from __future__ import annotations

from eventsourcing.domain import Aggregate

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
    schema = schema_of(Campaign, Campaign.CampaignResumed)
    assert (schema.version, schema.upcasts) == (1, ())


def test_the_catalogue_holds_every_aggregates_events_once() -> None:
    names = [(s.aggregate, s.name) for s in catalogue()]
    assert len(names) == len(set(names))
    assert {
        "AddressConsent",
        "ApiKeys",
        "Campaign",
        "CreditLedger",
        "Enrollment",
        "PersonErasure",
        "EventResealing",
    } == {aggregate for aggregate, _ in names}
    assert ("Enrollment", "StepSent") in names and ("CreditLedger", "CreditsReserved") in names


class Sample(Aggregate):
    """An aggregate made for this test: events as a careless newcomer might write them."""

    class Unversioned(Aggregate.Event):  # no class_version: the library reads it as version 1
        note: str

    class Upcast(Aggregate.Event):
        note: str
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["note"] = ""


def test_an_event_without_a_version_is_at_version_one_and_an_upcaster_without_a_docstring_says_so() -> None:
    assert (schema_of(Sample, Sample.Unversioned).version, schema_of(Sample, Sample.Unversioned).upcasts) == (
        1,
        (),
    )
    assert schema_of(Sample, Sample.Upcast).upcasts == ("v1 -> v2: no note",)
