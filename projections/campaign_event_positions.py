"""Read model: where in the log each campaign's events are, so a page of its history is one index read.

A campaign's history (projections/campaign_events.py) is its own events and its enrollments', in
log order; the events table names no campaign, so a page of fifty read every event of every
enrollment and sorted them (at 100,000 contacts, 700,000 rows and about a second). Here each
campaign's positions are kept in rows of one block of 4,096 log positions each, in order
(`positions`): a page reads a row or two from where its cursor stands, then those events by
position. `positions_after` reads, in one statement (one snapshot), this read model's log
position, whether an event that may be the campaign's is parked (one of the campaign's brand, or
of a brand not known), and the page's positions up to it; the caller
reads the events after that position (the tail) from the log. An enrollment's campaign is its
events' `campaign_id`; a StepAttempted recorded before version 2 names none, and its enrollment's
campaign is then its ContactEnrolled's in the same batch, else the leads read model's (this read
model follows CampaignLeads in `PROJECTIONS`, so has it); with neither, the event is parked and
the history is read from the streams until it is retried.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.campaign import Campaign
from domain.enrollment import Enrollment
from domain.event_catalogue import event_classes
from storage.database import Database

NAME = "campaign_event_positions"
BLOCK_BITS = 12  # a row holds a campaign's positions in one block of 4,096 log positions

# A block's row takes the batch's positions; they follow the row's in the log, except for a parked
# event handed back later: then the two are merged in order, each position once.
KEEP_POSITIONS = """
INSERT INTO campaign_event_positions (campaign_id, block, positions)
SELECT campaign, position >> %(bits)s, array_agg(position ORDER BY position)
FROM unnest(%(campaigns)b::uuid[], %(positions)b::bigint[]) AS batch(campaign, position)
GROUP BY campaign, position >> %(bits)s
ON CONFLICT (campaign_id, block) DO UPDATE SET positions = CASE
    WHEN EXCLUDED.positions[1] > campaign_event_positions.positions[
        array_upper(campaign_event_positions.positions, 1)]
    THEN campaign_event_positions.positions || EXCLUDED.positions
    ELSE ARRAY(SELECT DISTINCT p FROM unnest(campaign_event_positions.positions || EXCLUDED.positions) AS p
               ORDER BY p)
END
"""

# Another brand's parked event cannot be this campaign's: it never sends this brand's pages to the
# streams' slower read.
# The campaign's rows from the cursor's block on, one at a time in order, each cut to what the page
# can still take, until the page is full: a page reads a row or two, not every row of the campaign.
POSITIONS_AFTER = """
WITH RECURSIVE at AS (
    SELECT coalesce((SELECT position FROM projection_positions WHERE projection = %(name)s), 0) AS position,
           EXISTS (SELECT 1 FROM parked_items WHERE follower = %(follower)s
                   AND coalesce(brand_id = (SELECT brand_id FROM campaign_summaries
                                            WHERE id = %(campaign)s), true)) AS parked
), walk(block, taken, total) AS (
    SELECT %(first)s::bigint - 1, '{}'::bigint[], 0
    UNION ALL
    SELECT next.block, next.taken, walk.total + cardinality(next.taken)
    FROM walk, LATERAL (
        SELECT row.block, CASE WHEN row.block = %(first)s
            THEN ARRAY(SELECT p FROM unnest(row.positions) AS p WHERE p > %(after)s ORDER BY p LIMIT %(limit)s)
            ELSE row.positions[1:%(limit)s] END AS taken
        FROM campaign_event_positions AS row
        WHERE row.campaign_id = %(campaign)s AND row.block > walk.block
        ORDER BY row.block LIMIT 1
    ) AS next
    WHERE walk.total < %(limit)s
)
SELECT at.position, at.parked,
       ARRAY(SELECT p FROM walk, unnest(walk.taken) AS p ORDER BY p LIMIT %(limit)s) AS positions
FROM at
"""


class CampaignEventPositions:
    name = NAME
    tables = ("campaign_event_positions",)
    events = (*event_classes(Campaign), *event_classes(Enrollment))

    def reset(self, cur: Any) -> None:
        cur.execute("DELETE FROM campaign_event_positions")

    def apply(self, cur: Any, events: list[tuple[int, Any]]) -> None:
        enrolled_in = {
            event.originator_id: event.campaign_id
            for _, event in events
            if isinstance(event, Enrollment.ContactEnrolled)
        }
        campaigns: list[UUID] = []
        positions: list[int] = []
        for position, event in events:
            if isinstance(event, Campaign.Event):
                campaigns.append(event.originator_id)
            else:
                named = event.campaign_id or enrolled_in.get(event.originator_id)
                campaigns.append(named or _campaign_of(cur, event.originator_id))
            positions.append(position)
        if positions:
            cur.execute(KEEP_POSITIONS, {"bits": BLOCK_BITS, "campaigns": campaigns, "positions": positions})


def _campaign_of(cur: Any, enrollment_id: UUID) -> UUID:
    cur.execute("SELECT campaign_id FROM campaign_leads WHERE enrollment_id = %s", (enrollment_id,))
    row = cur.fetchone()
    if row is None:  # parked, and the campaign's history read from its streams meanwhile
        raise LookupError(f"enrollment {enrollment_id}: no campaign known for an event that names none")
    return UUID(str(row["campaign_id"]))


def positions_after(db: Database, campaign_id: UUID, after: int, limit: int) -> tuple[int, bool, list[int]]:
    """This read model's log position, whether an event that may be the campaign's is parked (its
    brand's, or of no brand known, or the campaign not listed yet), and the campaign's first
    `limit` positions after `after` up to that position, in order (one snapshot)."""
    row = db.fetch_one(
        POSITIONS_AFTER,
        {
            "name": NAME,
            "follower": f"projection:{NAME}",
            "campaign": campaign_id,
            "after": after,
            "first": after >> BLOCK_BITS,
            "limit": limit,
        },
    )
    assert row is not None  # one row, always
    return row["position"], row["parked"], list(row["positions"])
