"""The log's faster reading (storage/event_decoding.py) gives the library mapper's events, or its
errors, whatever the stored state holds: floats, numbers past 64 bits, an older class version,
wrapped values inside lists and objects, a name no transcoding has."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from domain.campaign import Campaign
from domain.enrollment import Enrollment
from storage import event_decoding
from storage.event_decoding import EventDecoder

MAPPER = Application[UUID](env={"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper
TIME = '{"_type_":"datetime_iso","_data_":"2026-11-01T00:00:00+00:00"}'


def _both(cls: type, state: str, originator: UUID | None = None) -> tuple[Any, Any]:
    stored = StoredEvent(originator or uuid4(), 3, get_topic(cls), state.encode())
    wanted = MAPPER.to_domain_event(stored)
    got = EventDecoder(MAPPER).decode(stored.originator_id, 3, stored.topic, stored.state)
    return wanted, got


def _same(wanted: Any, got: Any) -> None:
    assert type(got) is type(wanted)
    assert list(vars(got).items()) == list(vars(wanted).items())
    assert [type(v) for v in vars(got).values()] == [type(v) for v in vars(wanted).values()]


@pytest.mark.parametrize(
    "figures",
    [
        '{"rate":0.2,"sends":10}',  # a float: the json module's reading
        '{"count":123456789012345678901234567890}',  # past 64 bits: the json module's int
        '{"nested":[{"at":' + TIME + ',"ids":[{"_type_":"uuid_hex","_data_":"' + "ab" * 16 + '"}]}]}',
        '{"look":{"_type_":"uuid_hex","_data_":"' + "cd" * 16 + '","x":1}}',  # three keys: not wrapped
        '{"wrapped_list":{"_type_":"datetime_iso","_data_":["not","text"]}}',
    ],
)
def test_a_state_reads_as_the_mapper_reads_it(figures):
    state = f'{{"timestamp":{TIME},"by":"guard","reason":"r","paused_at":{TIME},"figures":{figures}}}'
    try:
        wanted, got = _both(Campaign.CampaignPaused, state)
    except Exception as error:  # the mapper refuses it: so does the faster reading, the same way
        with pytest.raises(type(error)):
            EventDecoder(MAPPER).decode(uuid4(), 3, get_topic(Campaign.CampaignPaused), state.encode())
        return
    _same(wanted, got)


def test_an_event_stored_at_an_older_class_version_is_upcast():
    campaign = '{"_type_":"uuid_hex","_data_":"' + "ef" * 16 + '"}'
    state = f'{{"timestamp":{TIME},"campaign_id":{campaign},"step_id":"s1","channel":"sms","group":0,"dispatched_at":{TIME}}}'
    wanted, got = _both(Enrollment.StepDispatched, state)
    _same(wanted, got)
    assert got.redispatched is False and isinstance(got.campaign_id, UUID)


def test_a_name_no_transcoding_has_is_the_mappers_error():
    state = f'{{"timestamp":{TIME},"by":"u","reason":"r","paused_at":{{"_type_":"nope","_data_":"x"}},"figures":{{}}}}'
    with pytest.raises(Exception) as wanted:
        _both(Campaign.CampaignPaused, state)
    with pytest.raises(type(wanted.value)):
        EventDecoder(MAPPER).decode(uuid4(), 3, get_topic(Campaign.CampaignPaused), state.encode())


def test_ids_met_again_read_as_the_mapper_reads_them_and_those_kept_stay_bounded(monkeypatch):
    """A decoder keeps the ids it made (the same campaign in event after event), a bounded number:
    each event still holds the mapper's value, an id not valid as hex is still the mapper's error."""
    monkeypatch.setattr(event_decoding, "REMEMBERED_IDS", 3)
    decoder = EventDecoder(MAPPER)
    topic = get_topic(Enrollment.StepDispatched)
    for n in [*range(5), 0, 1, 4]:
        campaign = '{"_type_":"uuid_hex","_data_":"' + f"{n:032x}" + '"}'
        state = f'{{"timestamp":{TIME},"campaign_id":{campaign},"step_id":"s1","channel":"sms","group":0,"dispatched_at":{TIME}}}'
        stored = StoredEvent(uuid4(), 3, topic, state.encode())
        _same(MAPPER.to_domain_event(stored), decoder.decode(stored.originator_id, 3, topic, stored.state))
        assert decoder.decode(stored.originator_id, 3, topic, stored.state).campaign_id == UUID(int=n)
    remembered = decoder.names["uuid_hex"]  # type: ignore[index]
    assert len(remembered.__closure__[0].cell_contents) <= 3
    bad = f'{{"timestamp":{TIME},"campaign_id":{{"_type_":"uuid_hex","_data_":"not hex"}},"step_id":"s1","channel":"sms","group":0,"dispatched_at":{TIME}}}'
    with pytest.raises(ValueError):
        MAPPER.to_domain_event(StoredEvent(uuid4(), 3, topic, bad.encode()))
    with pytest.raises(ValueError):
        decoder.decode(uuid4(), 3, topic, bad.encode())
