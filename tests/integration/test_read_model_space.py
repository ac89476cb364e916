"""What the read models keep per sent contact (issue 29, target 2; decision record 31): only the
indexes their queries use (a contact's StepExecutions are found by the primary key, since the
enrollment's id is derived from the campaign and the contact), and room in each StepExecutions page
for its rows' rewrites, kept when a replay rebuilds the table."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg.rows import dict_row

from commands.application import CampaignApplication
from domain.enrollment import Enrollment
from projections.shadow_rebuild import rebuild
from projections.step_executions import EXECUTIONS_PAGE, StepExecutions, executions, executions_params
from storage.database import Database, event_store_env
from storage.paging import InvalidCursor, encode_cursor

CONTACTS = 3_000
STEPS = ("a1", "b2")


def _campaign_with_executions(url: str) -> tuple[UUID, list[UUID]]:
    """One campaign's rows as the projection writes them: a row per contact and step."""
    campaign, contacts = uuid4(), [uuid4() for _ in range(CONTACTS)]
    rows = [
        (Enrollment.create_id(campaign, contact), step, campaign, contact, order)
        for contact in contacts
        for order, step in enumerate(STEPS)
    ]
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO step_executions (enrollment_id, step_id, campaign_id, contact_id, type,
                       step_group, step_order, status, created_at)
                   VALUES (%s, %s, %s, %s, 'EMAIL', 0, %s, 'sent', %s)""",
                [(*row, datetime(2026, 12, 7, tzinfo=UTC)) for row in rows],
            )
        conn.execute("VACUUM ANALYZE step_executions")
    return campaign, contacts


def test_a_contacts_executions_are_found_by_the_primary_key_not_by_scanning_the_campaign(database_url):
    campaign, contacts = _campaign_with_executions(database_url)
    contact = contacts[CONTACTS // 2]
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        plan = "\n".join(
            row["QUERY PLAN"]
            for row in conn.execute(
                "EXPLAIN " + EXECUTIONS_PAGE, executions_params(campaign, None, contact, 50, None)
            )
        )
    assert "step_executions_pkey" in plan, plan
    assert "Seq Scan" not in plan and "step_executions_campaign" not in plan, plan

    db = Database(database_url)
    try:
        rows, cursor = executions(db, campaign, None, contact, 50, None)
        assert [(row["contact_id"], row["step_id"]) for row in rows] == [(contact, step) for step in STEPS]
        assert cursor is None
        assert executions(db, campaign, None, uuid4(), 50, None) == ([], None)
        assert executions(db, campaign, "failed", contact, 50, None) == ([], None)
    finally:
        db.close()


def test_the_migrations_leave_no_index_on_a_campaigns_contacts_in_step_executions(database_url):
    with psycopg.connect(database_url) as conn:
        indexes = {
            name
            for (name,) in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'step_executions'"
            )
        }
    assert indexes == {"step_executions_pkey", "step_executions_campaign"}


def test_a_steps_first_rewrite_lands_in_its_own_page_without_new_index_entries(database_url):
    """Half of each StepExecutions page is left free, so the rewrite of a row as its step is
    attempted is, nearly always, a HOT update: beside the row, no new entry in any index."""
    campaign, contact = uuid4(), uuid4()
    with psycopg.connect(database_url) as conn, conn.transaction():
        conn.execute(
            """INSERT INTO step_executions (enrollment_id, step_id, campaign_id, contact_id, type,
                   step_group, step_order, status, created_at)
               SELECT gen_random_uuid(), 'step-' || n, %s, %s, 'EMAIL', 0, 0, 'dispatched', now()
               FROM generate_series(1, 2000) AS n""",
            (campaign, contact),
        )
        conn.execute(
            "UPDATE step_executions SET status = 'attempted', sender_account_id = %s WHERE campaign_id = %s",
            (str(uuid4()), campaign),
        )
        updated, hot = conn.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'step_executions'"
        ).fetchone() or (0, 0)
    assert updated == 2000
    assert hot >= 0.8 * updated  # a page whose rows all grew may still run out of room


def test_a_rebuilt_step_executions_table_keeps_the_room_in_its_pages(database_url):
    store = CampaignApplication(env=event_store_env(database_url))
    db = Database(database_url)
    try:
        rebuild(store, db, [StepExecutions()])
        options = db.fetch_one("SELECT reloptions FROM pg_class WHERE oid = 'step_executions'::regclass")
    finally:
        db.close()
        store.close()
    assert options == {"reloptions": ["fillfactor=50"]}


def test_pages_of_executions_go_through_every_row_once_in_order_with_no_stored_paging_key(database_url):
    campaign, contacts = _campaign_with_executions(database_url)
    with psycopg.connect(database_url) as conn:
        columns = {
            name
            for (name,) in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'step_executions'"
            )
        }
    assert "id" not in columns
    db = Database(database_url)
    try:
        seen: list[str] = []
        cursor: str | None = None
        while True:
            rows, cursor = executions(db, campaign, None, None, 700, cursor)
            seen += [row["id"] for row in rows]
            if cursor is None:
                break
        forged = encode_cursor({"created_at": datetime.now(UTC), "id": "x/a1"})
        with pytest.raises(InvalidCursor):
            executions(db, campaign, None, None, 10, forged)
    finally:
        db.close()
    assert seen == sorted(f"{Enrollment.create_id(campaign, c)}/{s}" for c in contacts for s in STEPS)


def _enrolment(enrollment: UUID, campaign: UUID, at: datetime) -> Enrollment.ContactEnrolled:
    plan = [{"id": step, "type": "EMAIL", "group": 0, "order": i} for i, step in enumerate(STEPS)]
    return Enrollment.ContactEnrolled(
        originator_id=enrollment,
        originator_version=1,
        timestamp=at,
        originator_topic="enrollment",
        campaign_id=campaign,
        brand_id=uuid4(),
        contact_id=uuid4(),
        addresses={},
        plan=plan,
        enrolled_at=at,
        group=0,
        due_at=at,
    )


def test_a_send_and_its_first_reached_time_rewrite_its_row_once(database_url):
    """Every UPDATE of a row writes a whole new copy of it: a batch that attempts and sends a step
    rewrites that step's row once, its status and `sent_first_at` together, not once each."""
    campaign, at = uuid4(), datetime(2026, 12, 7, 9, tzinfo=UTC)
    enrollments = [uuid4() for _ in range(200)]
    sent = [
        event
        for enrollment in enrollments
        for event in (
            Enrollment.StepAttempted(
                originator_id=enrollment,
                originator_version=2,
                timestamp=at,
                step_id="a1",
                sender_account_id="sender",
                message_key="key",
                attempted_at=at,
                campaign_id=campaign,
            ),
            Enrollment.StepSent(
                originator_id=enrollment,
                originator_version=3,
                timestamp=at,
                campaign_id=campaign,
                step_id="a1",
                channel="email",
                sender_account_id="sender",
                provider_message_id="m",
                credits=1,
                sent_at=at,
            ),
        )
    ]
    db = Database(database_url)
    try:
        with db.transaction() as cur:
            StepExecutions().apply(cur, [(i, _enrolment(e, campaign, at)) for i, e in enumerate(enrollments)])
        with db.transaction() as cur:
            StepExecutions().apply(cur, list(enumerate(sent, start=len(enrollments))))
            cur.execute("SELECT n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'step_executions'")
            (updated,) = cur.fetchone().values()
        rows = db.fetch_all(
            "SELECT step_id, status, sent_first_at FROM step_executions WHERE campaign_id = %s", (campaign,)
        )
    finally:
        db.close()
    assert updated == len(enrollments)
    assert sorted((r["step_id"], r["status"], r["sent_first_at"]) for r in rows) == sorted(
        [("a1", "sent", at)] * len(enrollments) + [("b2", "pending", None)] * len(enrollments)
    )
