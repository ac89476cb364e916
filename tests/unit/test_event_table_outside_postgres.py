"""The history's readers (the export, the audits, the ledger listing's wait) query the PostgreSQL
event store's own table: asked of a store kept elsewhere, they say so in words."""

from __future__ import annotations

import pytest

from commands.application import CampaignApplication
from storage import event_log, stored_events


def in_memory_store() -> CampaignApplication:
    return CampaignApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def test_the_history_of_a_store_not_on_postgresql_is_refused_saying_why():
    with pytest.raises(TypeError) as refused:
        stored_events.events_table(in_memory_store())
    assert str(refused.value) == "the event history is read from the PostgreSQL event store only"


def test_a_query_of_the_events_table_of_a_store_not_on_postgresql_is_refused_saying_why():
    with pytest.raises(TypeError) as refused:
        event_log.events_table(in_memory_store())
    assert str(refused.value) == "only the PostgreSQL recorder's table can be queried"
