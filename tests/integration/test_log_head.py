"""Where the log ends when an export starts: it reads through that position and no further, so an
event written meanwhile is left for the next export."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import psycopg

from commands.application import CampaignApplication
from domain.credit_ledger import CreditLedger, Plan
from storage.database import event_store_env
from storage.stored_events import events_table, head_position


def test_the_log_ends_at_position_zero_before_any_event_and_at_the_last_one_after(database_url):
    store = CampaignApplication(env=event_store_env(database_url))
    with psycopg.connect(database_url) as conn:
        assert head_position(conn, events_table(store)) == 0
        store.save(CreditLedger.open(uuid4(), Plan.BASIC, datetime(2026, 12, 7, tzinfo=UTC)))
        assert head_position(conn, events_table(store)) == store.recorder.max_notification_id()
