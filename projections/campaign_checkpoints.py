"""Read model: checkpoints of each campaign's figures, and the figures as of a moment added up from them.

Each batch the projector applies leaves, per campaign it touched, rows of `campaign_checkpoints`
(projections/campaign_figures.py's `Checkpoint`s: its counted events in order of time, a few
hundred a row; a batch's few events of a campaign join the campaign's latest row while that is
small). As of a moment, `checkpointed_figures` reads in one statement (one snapshot) this read
model's log position and the sums of the rows at or before it, then the campaign's counted events
after that position from the log: the answer is the full fold's whatever the projector has
applied; only its cost grows with the projector's lag. It answers None (the caller folds every
event instead) when the lag is over `MAX_TAIL` log positions or when an event of this read model
is parked, since a parked event is missing from its rows.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from psycopg.types.json import Jsonb

from projections.campaign_figures import (
    COUNTED_EVENTS,
    Checkpoint,
    checkpoints_of,
    figures_as_of,
    figures_moved,
    microseconds,
)
from storage.database import Database
from storage.event_log import read_log

NAME = "campaign_checkpoints"
MAX_TAIL = 50_000  # log positions past the checkpoints read before folding every event is cheaper
TAIL_READ = 5_000  # log positions read at a time past the checkpoints

CHECKPOINTS_AS_OF = """
WITH at AS (
    SELECT coalesce((SELECT position FROM projection_positions WHERE projection = %(name)s), 0) AS position,
           EXISTS (SELECT 1 FROM parked_items WHERE follower = %(follower)s) AS parked
), taken AS NOT MATERIALIZED (  -- each use reads only the columns it needs
    SELECT figures, moments, earliest, latest FROM campaign_checkpoints
    WHERE campaign_id = %(campaign)s AND last_position <= (SELECT position FROM at)
      AND earliest <= %(moment)s
)
SELECT at.position, at.parked,
       (SELECT coalesce(jsonb_object_agg(name, total), '{}'::jsonb) FROM (
            SELECT figure.key AS name, sum(figure.value::bigint) AS total
            FROM taken, jsonb_each_text(taken.figures) AS figure
            WHERE taken.latest <= %(moment)s GROUP BY figure.key) AS sums) AS whole,
       (SELECT coalesce(jsonb_object_agg(name, total), '{}'::jsonb) FROM (
            SELECT counted.value->>1 AS name, sum((counted.value->>2)::bigint) AS total
            FROM taken, jsonb_array_elements(taken.moments) AS counted
            WHERE taken.latest > %(moment)s AND (counted.value->>0)::bigint <= %(until)s
            GROUP BY 1) AS sums) AS split
FROM at
"""


class CampaignCheckpoints:
    name = NAME
    tables = ("campaign_checkpoints",)
    events = COUNTED_EVENTS

    def reset(self, cur: Any) -> None:
        cur.execute("DELETE FROM campaign_checkpoints")

    def apply(self, cur: Any, events: list[tuple[int, Any]]) -> None:
        made = checkpoints_of(
            (position, event.campaign_id, event.timestamp, figures_moved(event)) for position, event in events
        )
        for campaign_id, checkpoint in made:
            self._keep(cur, campaign_id, checkpoint)

    @staticmethod
    def _keep(cur: Any, campaign_id: UUID, checkpoint: Checkpoint) -> None:
        """Store a checkpoint, in the campaign's latest row while that stays small: a campaign sent
        beside many others has a few of its events in each batch, and its rows stay few all the same."""
        cur.execute(
            """SELECT last_position, first_position, earliest, latest, figures, moments
               FROM campaign_checkpoints WHERE campaign_id = %s
               ORDER BY last_position DESC LIMIT 1 FOR UPDATE""",
            (campaign_id,),
        )
        row = cur.fetchone()
        if row is not None:
            latest = Checkpoint(
                row["first_position"],
                row["last_position"],
                row["earliest"],
                row["latest"],
                Counter(row["figures"]),
                [(at, name, amount) for at, name, amount in row["moments"]],
            )
            if latest.can_absorb(checkpoint):
                latest.absorb(checkpoint)
                cur.execute(
                    "DELETE FROM campaign_checkpoints WHERE campaign_id = %s AND last_position = %s",
                    (campaign_id, row["last_position"]),
                )
                checkpoint = latest
        cur.execute(
            """INSERT INTO campaign_checkpoints
               (campaign_id, last_position, first_position, earliest, latest, figures, moments)
               VALUES (%s, %s, %s, %s, %s, %s, %s)""",
            (
                campaign_id,
                checkpoint.last_position,
                checkpoint.first_position,
                checkpoint.earliest,
                checkpoint.latest,
                Jsonb(dict(checkpoint.figures)),
                Jsonb(checkpoint.moments),
            ),
        )


def checkpointed_figures(
    store: Application[UUID], db: Database, campaign_id: UUID, moment: datetime
) -> dict[str, int] | None:
    """The campaign's figures as of `moment` from its checkpoints and the log after them; None when
    the checkpoints are too far behind the log, or miss a parked event."""
    params = {"name": NAME, "follower": f"projection:{NAME}", "campaign": campaign_id}
    params |= {"moment": moment, "until": microseconds(moment)}
    row = db.fetch_one(CHECKPOINTS_AS_OF, params)
    if row is None or row["parked"]:
        return None
    position = row["position"]
    head = store.recorder.max_notification_id() or 0
    if head - position > MAX_TAIL:
        return None
    tail: list[tuple[datetime, Counter[str]]] = []
    wanted: tuple[str, list[str | UUID]] = ("campaign_id", [campaign_id])
    while position < head:
        events, position = read_log(store, position, TAIL_READ, COUNTED_EVENTS, wanted)
        tail.extend(
            (event.timestamp, figures_moved(event)) for _, event in events if event.campaign_id == campaign_id
        )
    return figures_as_of(row["whole"], row["split"], tail, moment)
