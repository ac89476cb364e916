"""Read model for the scheduler: which enrollments have steps waiting, and from when.

A row exists while an enrollment has something to dispatch: its next group was scheduled, a step
was deferred, or a dispatch was cancelled by a pause. Dispatching or finishing removes it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.enrollment import Enrollment
from storage.database import Database

DDL = [
    """
    CREATE TABLE IF NOT EXISTS due_steps (
        enrollment_id uuid PRIMARY KEY,
        campaign_id uuid NOT NULL,
        due_at timestamptz NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS due_steps_due ON due_steps (due_at)",
]


class DueSteps:
    name = "due_steps"
    ddl = DDL
    events = (
        Enrollment.GroupScheduled,
        Enrollment.StepDeferred,
        Enrollment.StepCancelled,
        Enrollment.StepDispatched,
        Enrollment.EnrollmentFinished,
    )

    def reset(self, cur: Any) -> None:
        cur.execute("DELETE FROM due_steps")

    def apply(self, cur: Any, events: list[tuple[int, Any]]) -> None:
        due: dict[UUID, tuple[UUID, datetime] | None] = {}  # the last word per enrollment in this batch
        for _, event in events:
            if isinstance(event, Enrollment.GroupScheduled | Enrollment.StepDeferred):
                due[event.originator_id] = (event.campaign_id, event.due_at)
            elif isinstance(event, Enrollment.StepCancelled):
                due[event.originator_id] = (event.campaign_id, event.cancelled_at)
            elif isinstance(event, Enrollment.StepDispatched | Enrollment.EnrollmentFinished):
                due[event.originator_id] = None
        gone = [enrollment for enrollment, row in due.items() if row is None]
        if gone:
            cur.execute("DELETE FROM due_steps WHERE enrollment_id = ANY(%s)", (gone,))
        rows = [(enrollment, *row) for enrollment, row in due.items() if row is not None]
        if rows:
            cur.executemany(
                """INSERT INTO due_steps (enrollment_id, campaign_id, due_at) VALUES (%s, %s, %s)
                   ON CONFLICT (enrollment_id) DO UPDATE SET due_at = EXCLUDED.due_at""",
                rows,
            )


def due_enrollments(db: Database, now: datetime, limit: int, skip: Collection[UUID | str] = ()) -> list[UUID]:
    """Enrollments of ACTIVE campaigns whose waiting steps are due, oldest first, except `skip`."""
    rows = db.fetch_all(
        """SELECT d.enrollment_id FROM due_steps d
           JOIN campaign_summaries c ON c.id = d.campaign_id AND c.status = 'ACTIVE'
           WHERE d.due_at <= %s AND NOT (d.enrollment_id = ANY(%s::uuid[]))
           ORDER BY d.due_at LIMIT %s""",
        (now, [str(item) for item in skip], limit),
    )
    return [row["enrollment_id"] for row in rows]
