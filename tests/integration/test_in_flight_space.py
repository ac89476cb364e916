"""What a step in flight leaves behind (issue 29, target 2; decision record 35, migration 0033):
its row is rewritten in place when the step is attempted (no index holds `since`, and half of each
page is free), so the emptied indexes keep one entry per step, not two; the sweeper still finds the
steps in flight past their lease; and a replay's rebuilt table keeps the room in its pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg

from commands.application import CampaignApplication
from domain.enrollment import Enrollment
from projections.due_steps import DueSteps, stale_in_flight
from projections.shadow_rebuild import rebuild
from storage.database import Database, event_store_env

AT = datetime(2026, 12, 7, 9, tzinfo=UTC)
STEPS = 2_000


def _dispatched(enrollment: UUID, campaign: UUID) -> Any:
    return Enrollment.StepDispatched(
        originator_id=enrollment,
        originator_version=2,
        timestamp=AT,
        campaign_id=campaign,
        step_id="a1",
        channel="email",
        group=0,
        dispatched_at=AT,
    )


def _attempted(enrollment: UUID, campaign: UUID, at: datetime) -> Any:
    return Enrollment.StepAttempted(
        originator_id=enrollment,
        originator_version=3,
        timestamp=at,
        step_id="a1",
        sender_account_id="sender",
        message_key="key",
        attempted_at=at,
        campaign_id=campaign,
    )


def test_an_attempt_rewrites_its_step_in_flight_in_place_with_no_new_index_entry(database_url):
    campaign, enrollments = uuid4(), [uuid4() for _ in range(STEPS)]
    later = AT + timedelta(seconds=5)
    db = Database(database_url)
    try:
        with db.transaction() as cur:
            DueSteps().apply(cur, [(i, _dispatched(e, campaign)) for i, e in enumerate(enrollments)])
        with db.transaction() as cur:
            DueSteps().apply(
                cur, [(STEPS + i, _attempted(e, campaign, later)) for i, e in enumerate(enrollments)]
            )
            cur.execute(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'steps_in_flight'"
            )
            updated, hot = cur.fetchone().values()
        since = db.fetch_all("SELECT DISTINCT since FROM steps_in_flight WHERE campaign_id = %s", (campaign,))
    finally:
        db.close()
    assert updated == STEPS
    assert hot >= 0.8 * updated  # a page whose rows all grew may still run out of room
    assert [row["since"] for row in since] == [later]


def test_the_sweeper_still_finds_the_steps_in_flight_past_their_lease(database_url):
    campaign, old, fresh = uuid4(), uuid4(), uuid4()
    with psycopg.connect(database_url) as conn:
        conn.execute(
            """INSERT INTO campaign_summaries (id, brand_id, name, status, audience_type, ai_personalization,
                   lead_group_ids, steps, timezone, sending_window, created_at)
               VALUES (%s, %s, 'Q4', 'ACTIVE', 'leads', false, '[]', '[]', 'UTC', '{}', %s)""",
            (campaign, uuid4(), AT),
        )
    db = Database(database_url)
    try:
        with db.transaction() as cur:
            DueSteps().apply(cur, [(1, _dispatched(old, campaign)), (2, _dispatched(fresh, campaign))])
        with db.transaction() as cur:
            DueSteps().apply(cur, [(3, _attempted(fresh, campaign, AT + timedelta(minutes=10)))])
        assert stale_in_flight(db, AT + timedelta(minutes=5), 100) == {campaign: [old]}
    finally:
        db.close()


def test_the_migrations_leave_steps_in_flight_half_free_pages_and_only_its_key(database_url):
    store = CampaignApplication(env=event_store_env(database_url))
    db = Database(database_url)
    try:
        rebuild(store, db, [DueSteps()])  # a replay's rebuilt table
        options = db.fetch_one("SELECT reloptions FROM pg_class WHERE oid = 'steps_in_flight'::regclass")
        indexes = db.fetch_all("SELECT indexname FROM pg_indexes WHERE tablename = 'steps_in_flight'")
    finally:
        db.close()
        store.close()
    assert options == {"reloptions": ["fillfactor=50"]}
    assert [row["indexname"] for row in indexes] == ["steps_in_flight_pkey"]
