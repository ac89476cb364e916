"""The EventResealing aggregate: the record of a brand's stored events rewritten in place to seal
the personal data they held in plain text (decision record 0028).

Events stored before sealing (`ContactEnrolled` before v5, `ConsentOpened` before v2, or written
without a CREDENTIALS_KEY) are re-encoded with their addresses sealed; that changes their bytes,
so the hash-chain links of their aggregates are computed again from the rewritten row on. Each
batch is recorded here, in the same transaction as the rewrite, with every rewritten row's old and
new link and its aggregate's old and new chain head: an auditor who published the old heads can
connect them to the new ones. One per run of the command and brand (a run that finds nothing to do
records nothing); it holds no personal data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.event_time import TimedAggregate


class EventResealing(TimedAggregate):
    """Which of a brand's stored events one run re-sealed in place, by whom and when, old links to new."""

    class ResealingBegun(Aggregate.Created):
        brand_id: UUID
        begun_by: str  # who ran it: `cli: <user>`
        begun_at: datetime
        class_version = 1
        TIME_FIELD = "begun_at"

    @event(ResealingBegun)
    def __init__(self, brand_id: UUID, begun_by: str, begun_at: datetime) -> None:
        self.brand_id, self.begun_by, self.begun_at = brand_id, begun_by, begun_at
        self.resealed = 0

    @classmethod
    def begin(cls, resealing_id: UUID, brand_id: UUID, begun_by: str, begun_at: datetime) -> EventResealing:
        """`resealing_id`: the run's own id (a run of the command is one aggregate)."""
        return cls._create(
            cls.ResealingBegun,
            id=resealing_id,
            brand_id=brand_id,
            begun_by=begun_by,
            begun_at=begun_at,
        )

    class EventsResealed(Aggregate.Event):
        resealed_by: str
        resealed_at: datetime
        # One per rewritten stored event: `aggregate_id`, `version` (of the rewritten row),
        # `old_link` and `new_link` (that row's chain link before and after, hex), `head_version`,
        # `old_head` and `new_head` (the aggregate's last link before and after, hex).
        rows: list[dict[str, Any]]
        class_version = 1
        TIME_FIELD = "resealed_at"

    def record(self, rows: list[dict[str, Any]], resealed_by: str, resealed_at: datetime) -> None:
        """Record one batch of rewritten rows (a batch with none records nothing)."""
        if rows:
            self._resealed(resealed_by, resealed_at, rows)

    @event(EventsResealed)
    def _resealed(self, resealed_by: str, resealed_at: datetime, rows: list[dict[str, Any]]) -> None:
        self.resealed += len(rows)
