"""Read model for the follow-up processor and the sweeper: steps waiting, and steps in flight.

A `due_steps` row exists while an enrollment has something to dispatch: its next group was
scheduled (the first with the enrollment), a step was deferred, or a dispatch was cancelled by a
pause. Dispatching or finishing removes it. A `steps_in_flight` row exists while a step is
dispatched or attempted, with the time of its last dispatch or attempt; any outcome removes it.
The sweeper looks there for steps whose message was lost.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.enrollment import Enrollment
from storage.database import Database
from storage.row_sets import insert_rows, update_rows

# Events that end a step's flight: an outcome, or back to waiting.
LANDED = (
    Enrollment.StepSent,
    Enrollment.StepFailed,
    Enrollment.StepWithdrawn,
    Enrollment.StepCancelled,
    Enrollment.StepDeferred,
)


class DueSteps:
    name = "due_steps"
    tables = ("due_steps", "steps_in_flight")
    events = (
        Enrollment.ContactEnrolled,
        Enrollment.GroupScheduled,
        Enrollment.StepDeferred,
        Enrollment.StepCancelled,
        Enrollment.StepDispatched,
        Enrollment.EnrollmentFinished,
        Enrollment.StepAttempted,
        Enrollment.StepSent,
        Enrollment.StepFailed,
        Enrollment.StepWithdrawn,
    )

    def reset(self, cur: Any) -> None:
        cur.execute("DELETE FROM due_steps")
        cur.execute("DELETE FROM steps_in_flight")

    def apply(self, cur: Any, events: list[tuple[int, Any]]) -> None:
        due: dict[UUID, tuple[UUID, datetime] | None] = {}  # the last word per enrollment in this batch
        for _, event in events:
            if isinstance(event, Enrollment.GroupScheduled | Enrollment.StepDeferred):
                due[event.originator_id] = (event.campaign_id, event.due_at)
            elif isinstance(event, Enrollment.ContactEnrolled):
                if event.dispatched:  # its first group went out with it: nothing waits
                    due[event.originator_id] = None
                elif (
                    event.due_at is not None
                ):  # scheduled with the enrollment (before v3: by a GroupScheduled)
                    due[event.originator_id] = (event.campaign_id, event.due_at)
            elif isinstance(event, Enrollment.StepCancelled):
                due[event.originator_id] = (event.campaign_id, event.cancelled_at)
            elif isinstance(event, Enrollment.EnrollmentFinished):
                due[event.originator_id] = None
            elif isinstance(event, Enrollment.StepSent):  # the last send of its group (before v3: own events)
                if event.finished:
                    due[event.originator_id] = None
                elif event.next_group is not None and event.next_due_at is not None:
                    due[event.originator_id] = (event.campaign_id, event.next_due_at)
            elif isinstance(event, Enrollment.StepDispatched) and not event.redispatched:
                due[event.originator_id] = None  # a re-dispatch changes nothing that is waiting
        self._apply_flights(cur, events)
        gone = [enrollment for enrollment, row in due.items() if row is None]
        if gone:
            cur.execute("DELETE FROM due_steps WHERE enrollment_id = ANY(%b::uuid[])", (gone,))
        rows = [(enrollment, *row) for enrollment, row in due.items() if row is not None]
        insert_rows(
            cur,
            "due_steps",
            [("enrollment_id", "uuid"), ("campaign_id", "uuid"), ("due_at", "timestamptz")],
            rows,
            "ON CONFLICT (enrollment_id) DO UPDATE SET due_at = EXCLUDED.due_at",
        )

    @staticmethod
    def _apply_flights(cur: Any, events: list[tuple[int, Any]]) -> None:
        # The last word per step in this batch: (campaign, since), (None, since) for an attempt
        # of a step dispatched in an earlier batch, or None once it landed.
        flights: dict[tuple[UUID, str], tuple[UUID | None, datetime] | None] = {}
        for _, event in events:
            key = (event.originator_id, getattr(event, "step_id", ""))
            if isinstance(event, Enrollment.StepDispatched):
                flights[key] = (event.campaign_id, event.dispatched_at)
            elif isinstance(event, Enrollment.ContactEnrolled):  # dispatched with the enrollment (v4)
                for sent_off in event.dispatched or ():
                    flights[(event.originator_id, sent_off["step_id"])] = (
                        event.campaign_id,
                        event.enrolled_at,
                    )
            elif isinstance(event, Enrollment.StepAttempted):
                known = flights.get(key)
                flights[key] = (known[0] if known else None, event.attempted_at)
            elif isinstance(event, LANDED):
                flights[key] = None
        landed = [key for key, flight in flights.items() if flight is None]
        if landed:
            cur.execute(
                """DELETE FROM steps_in_flight f USING unnest(%b::uuid[], %b::text[]) AS l(e, s)
                   WHERE f.enrollment_id = l.e AND f.step_id = l.s""",
                ([e for e, _ in landed], [s for _, s in landed]),
            )
        flying = [(*key, *flight) for key, flight in flights.items() if flight and flight[0] is not None]
        insert_rows(
            cur,
            "steps_in_flight",
            [
                ("enrollment_id", "uuid"),
                ("step_id", "text"),
                ("campaign_id", "uuid"),
                ("since", "timestamptz"),
            ],
            flying,
            "ON CONFLICT (enrollment_id, step_id) DO UPDATE SET since = EXCLUDED.since",
        )
        attempted = [(flight[1], *key) for key, flight in flights.items() if flight and flight[0] is None]
        update_rows(
            cur,
            "steps_in_flight",
            [("since", "timestamptz")],
            [("enrollment_id", "uuid"), ("step_id", "text")],
            attempted,
        )


def due_enrollments(
    db: Database,
    now: datetime,
    limit: int,
    skip: Collection[UUID | str] = (),
    skip_brands: Collection[UUID] = (),
) -> list[UUID]:
    """Enrollments of ACTIVE campaigns whose waiting steps are due, oldest first, except `skip`
    and the enrollments of the brands in `skip_brands` (suspended: their steps wait)."""
    rows = db.fetch_all(
        """SELECT d.enrollment_id FROM due_steps d
           JOIN campaign_summaries c ON c.id = d.campaign_id AND c.status = 'ACTIVE'
           WHERE d.due_at <= %s AND NOT (d.enrollment_id = ANY(%s::uuid[]))
             AND NOT (c.brand_id = ANY(%s::uuid[]))
           ORDER BY d.due_at LIMIT %s""",
        (now, [str(item) for item in skip], list(skip_brands), limit),
    )
    return [row["enrollment_id"] for row in rows]


def stale_in_flight(db: Database, before: datetime, limit: int) -> dict[UUID, list[UUID]]:
    """Enrollments of ACTIVE campaigns with a step in flight since `before` or earlier, per campaign."""
    rows = db.fetch_all(
        """SELECT f.campaign_id, f.enrollment_id, min(f.since) AS since FROM steps_in_flight f
           JOIN campaign_summaries c ON c.id = f.campaign_id AND c.status = 'ACTIVE'
           WHERE f.since <= %s GROUP BY f.campaign_id, f.enrollment_id ORDER BY since LIMIT %s""",
        (before, limit),
    )
    per_campaign: dict[UUID, list[UUID]] = {}
    for row in rows:
        per_campaign.setdefault(row["campaign_id"], []).append(row["enrollment_id"])
    return per_campaign
