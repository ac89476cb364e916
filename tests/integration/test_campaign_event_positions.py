"""The campaign_event_positions read model's own rules, on PostgreSQL.

An old StepAttempted (before version 2) names no campaign: it is placed by its enrollment's lead,
and without one the read model refuses it (the runner parks it). A position applied after later
ones of its block (a parked event handed back) takes its place in order, and once; a campaign with
nothing in the read model has no positions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from domain.enrollment import Enrollment
from projections.campaign_event_positions import CampaignEventPositions, positions_after
from storage.database import Database

LAUNCH = datetime(2037, 12, 7, 10, 0, tzinfo=UTC)


def _lead(db: Database, enrollment: UUID, campaign: UUID) -> None:
    with db.transaction() as cur:
        cur.execute(
            """INSERT INTO campaign_leads (enrollment_id, campaign_id, contact_id, state, created_at)
               VALUES (%s, %s, %s, 'active', %s)""",
            (enrollment, campaign, uuid4(), LAUNCH),
        )


def _old_attempt(enrollment: UUID) -> Enrollment.StepAttempted:
    """A StepAttempted as recorded before version 2: it names no campaign."""
    return Enrollment.StepAttempted(
        originator_id=enrollment,
        originator_version=2,
        timestamp=LAUNCH,
        step_id="s1",
        sender_account_id="sender",
        message_key="key",
        attempted_at=LAUNCH,
        campaign_id=None,
    )


def test_an_attempt_that_names_no_campaign_is_placed_by_its_lead_and_parked_without_one(database_url):
    campaign, enrollment = uuid4(), uuid4()
    db = Database(database_url)
    try:
        _lead(db, enrollment, campaign)
        with db.transaction() as cur:
            CampaignEventPositions().apply(cur, [(7, _old_attempt(enrollment))])
        assert positions_after(db, campaign, 0, 10)[2] == [7]
        orphan = uuid4()
        # the runner parks it, under this reason: the operator reads which enrollment has no campaign
        with (
            pytest.raises(LookupError, match=f"enrollment {orphan}: no campaign known"),
            db.transaction() as cur,
        ):
            CampaignEventPositions().apply(cur, [(8, _old_attempt(orphan))])
    finally:
        db.close()


def test_a_position_handed_back_later_takes_its_place_in_order_once(database_url):
    campaign, enrollment = uuid4(), uuid4()
    db = Database(database_url)
    try:
        _lead(db, enrollment, campaign)
        assert positions_after(db, campaign, 0, 10)[2] == []  # nothing of the campaign yet
        for batch in ([10, 20, 4_100], [15], [20], [4_099, 4_101]):  # a parked event retried, twice
            with db.transaction() as cur:
                CampaignEventPositions().apply(cur, [(p, _old_attempt(enrollment)) for p in batch])
        assert positions_after(db, campaign, 0, 10)[2] == [10, 15, 20, 4_099, 4_100, 4_101]
        assert positions_after(db, campaign, 15, 2)[2] == [20, 4_099]
        assert positions_after(db, campaign, 4_101, 10)[2] == []
    finally:
        db.close()
