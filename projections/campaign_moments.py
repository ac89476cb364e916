"""A campaign's steps as they stood at any moment: the funnel of each step and its StepExecutions,
and the campaign's own milestones (for the console).

The funnel counts, per planned step, the contacts enrolled in it and those it was sent to,
delivered to, opened and clicked by, replied from, bounced for and unsubscribed by. Now, it is one
grouped query of the StepExecutions read model (and the StepClicked events when the campaign has
clicks). As of a moment, `funnels_as_of` counts the read model's rows enrolled by then and, per
stage, those that first reached it by then (each row keeps those times), and `executions_as_of`
takes one page of the rows enrolled by then in the fold's order and rebuilds only those from
their own enrollments' events; both fall back to the full fold (`steps_as_of`: every enrollment's
events at or before the moment folded into rows with the read model's own patches,
projections/step_executions.py) when the read model lacks an event the moment shows. The
enrollments folded are those the campaign's launch took (`launch_audiences`), as in
projections/campaign_history.py; see docs/decisions/0029-time-travel-from-checkpoints.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.utils import get_topic
from psycopg import sql

from domain.campaign import Campaign
from domain.enrollment import Enrollment, StepStatus
from projections.step_executions import StepExecutions, reached
from projections.step_executions import _patch as step_patch
from projections.step_funnels import FUNNEL, FUNNELS_AT, FUNNELS_NOW, moment_params
from storage.database import Database
from storage.event_log import events_table, read_log, to_event

CHUNK = 2_000  # aggregates whose events are read together
MILESTONES: dict[type, str] = {
    Campaign.CampaignCreated: "created",
    Campaign.CampaignLaunched: "launched",
    Campaign.CampaignPaused: "paused",
    Campaign.CampaignResumed: "resumed",
    Campaign.CampaignCompleted: "completed",
    Campaign.CampaignArchived: "archived",
}
FUNNEL_EVENTS = (
    Enrollment.ContactEnrolled,
    Enrollment.StepSent,
    Enrollment.StepDelivered,
    Enrollment.StepOpened,
    Enrollment.StepClicked,
    Enrollment.ContactReplied,
    Enrollment.StepUndelivered,
    Enrollment.StepWithdrawn,
)


def _events(
    store: Application[UUID], db: Database, originators: list[UUID], classes: Sequence[type]
) -> Iterator[Any]:
    """The events of these aggregates of the given classes, each aggregate's in order; read
    `CHUNK` aggregates at a time, so a campaign of 100,000 contacts is never held whole."""
    query = sql.SQL(
        """SELECT originator_id, originator_version, topic, state FROM {events}
           WHERE originator_id = ANY(%(ids)s) AND topic = ANY(%(topics)s)
           ORDER BY originator_id, originator_version"""
    ).format(events=events_table(store))
    topics = [get_topic(cls) for cls in classes]
    for start in range(0, len(originators), CHUNK):
        rows = db.fetch_all(query, {"ids": originators[start : start + CHUNK], "topics": topics})
        for row in rows:
            yield to_event(store, row)


def _enrollments(db: Database, campaign_id: UUID) -> list[UUID]:
    contacts = db.fetch_all("SELECT contact_id FROM launch_audiences WHERE campaign_id = %s", (campaign_id,))
    return [Enrollment.create_id(campaign_id, row["contact_id"]) for row in contacts]


def steps_as_of(
    store: Application[UUID], db: Database, campaign_id: UUID, moment: datetime
) -> tuple[dict[str, dict[str, int]], list[dict[str, Any]]]:
    """Each planned step's funnel (`FUNNEL`'s counts, by step id) and the StepExecutions rows (by
    enrollment time, contact, step) as they stood at `moment`, from one pass over every event of
    the campaign's enrollments: the reference `funnels_as_of` and `executions_as_of` answer as."""
    return _fold(store, db, _enrollments(db, campaign_id), moment)


def _fold(
    store: Application[UUID], db: Database, enrollments: list[UUID], moment: datetime
) -> tuple[dict[str, dict[str, int]], list[dict[str, Any]]]:
    funnels: dict[str, dict[str, set[UUID]]] = defaultdict(lambda: defaultdict(set))
    rows: dict[tuple[UUID, str], dict[str, Any]] = {}
    due: dict[tuple[UUID, int], datetime] = {}
    classes = tuple(dict.fromkeys((*FUNNEL_EVENTS, *StepExecutions.events)))
    for event in _events(store, db, enrollments, classes):
        if event.timestamp > moment:
            continue
        _count(event, funnels)
        if isinstance(event, Enrollment.ContactEnrolled):
            _enrolled_rows(event, rows, due)
        elif isinstance(event, Enrollment.GroupScheduled):
            due[(event.originator_id, event.group)] = event.due_at
        elif isinstance(event, Enrollment.StepClicked):
            continue  # counted in the funnel; the read model's rows hold no click
        elif isinstance(event, Enrollment.ContactReplied) and event.step_id is None:
            continue
        else:
            if isinstance(event, Enrollment.StepSent) and event.next_group is not None and event.next_due_at:
                due[(event.originator_id, event.next_group)] = event.next_due_at
            row = rows.get((event.originator_id, event.step_id))
            if row is not None:
                row.update(step_patch(event))
    for row in rows.values():
        row["scheduled_for"] = row.get("scheduled_for") or due.get((row["enrollment_id"], row["step_group"]))
    shown = {step_id: {name: len(reached[name]) for name in FUNNEL} for step_id, reached in funnels.items()}
    return shown, sorted(rows.values(), key=lambda row: (row["created_at"], row["id"]))


def _count(event: Any, funnels: dict[str, dict[str, set[UUID]]]) -> None:
    """The funnel stage one event takes its contact to, if any (a contact counts once a stage)."""
    if isinstance(event, Enrollment.ContactEnrolled):
        for step in event.plan:
            if step["type"] != "WAIT":
                funnels[step["id"]]["enrolled"].add(event.originator_id)
    else:
        stage = reached(event)
        if stage is not None:
            funnels[event.step_id][stage].add(event.originator_id)


# As of a moment, the funnel is the read model's kept counts (projections/step_funnels.py), read
# with its log position and whether an event of it is parked (one snapshot).
# The keys of the rows that existed at the moment (with the read model's position, whether one of
# its events is parked and the log's head, in the same statement), in the page order of the full fold (by
# enrollment time, then `<enrollment id>/<step id>` as Python orders text: the id's 36 characters
# are the uuid's own order, and the step id's by code point, which is the "C" collation's).
ROWS_AS_OF = """
WITH at AS (
    SELECT coalesce((SELECT position FROM projection_positions WHERE projection = %(name)s), 0) AS position,
           EXISTS (SELECT 1 FROM parked_items WHERE follower = %(follower)s) AS parked,
           (SELECT max(notification_id) FROM {events}) AS head
)
SELECT at.position, at.parked, at.head, rows.enrollment_id, rows.step_id FROM at LEFT JOIN (
    SELECT enrollment_id, step_id, created_at FROM step_executions
    WHERE campaign_id = %(campaign)s AND created_at <= %(moment)s
      AND (%(enrollment)s::uuid IS NULL OR enrollment_id = %(enrollment)s)
    ORDER BY created_at, enrollment_id, step_id COLLATE "C" OFFSET %(offset)s LIMIT %(limit)s
) AS rows ON true ORDER BY rows.created_at, rows.enrollment_id, rows.step_id COLLATE "C"
"""
MAX_TAIL = 50_000  # log positions past the read model read before folding every event is cheaper
TAIL_READ = 5_000
SCAN = 2_000  # rows folded at a time when a status filter decides which are on the page


def _with_head(store: Application[UUID], query: str) -> sql.Composed:
    """The query's rows, each with the log's head (`head`) read in the same statement: one round
    trip less than asking the recorder after it, and never before the read model's position."""
    return sql.SQL(
        "SELECT (SELECT max(notification_id) FROM {events}) AS head, q.* FROM ({query}) AS q"
    ).format(
        events=events_table(store),
        query=sql.SQL(query),
    )


def _tail_is_later(
    store: Application[UUID], campaign_id: UUID, position: int, moment: datetime, head: int | None
) -> bool:
    """Whether every event of the campaign's StepExecutions after the read model's `position` is
    later than `moment` (so the read model holds all that the moment shows); False too when the
    read model is more than `MAX_TAIL` positions behind. `head`: the log's, read with the position."""
    head = head or 0
    if head - position > MAX_TAIL:
        return False
    wanted: tuple[str, list[str | UUID]] = ("campaign_id", [campaign_id])
    while position < head:
        events, position = read_log(store, position, TAIL_READ, StepExecutions.events, wanted)
        if any(event.campaign_id == campaign_id and event.timestamp <= moment for _, event in events):
            return False
    return True


def funnels_as_of(
    store: Application[UUID], db: Database, campaign_id: UUID, moment: datetime
) -> dict[str, dict[str, int]]:
    """Each planned step's funnel as of `moment`: the read model's counts kept in buckets of time
    (a few rows) when it holds every event the moment shows (none parked, none of the campaign's
    after its position at or before the moment), else the full fold's (`steps_as_of`); the same
    answer either way."""
    params = {"name": StepExecutions.name, "follower": f"projection:{StepExecutions.name}"}
    rows = db.fetch_all(
        _with_head(store, FUNNELS_AT), params | {"campaign": campaign_id} | moment_params(moment)
    )
    at = rows[0]
    if at["parked"] or not _tail_is_later(store, campaign_id, at["position"], moment, at["head"]):
        return steps_as_of(store, db, campaign_id, moment)[0]
    return _shown(rows)


def _shown(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    return {row["step_id"]: {name: int(row[name] or 0) for name in FUNNEL} for row in rows if row["step_id"]}


def executions_as_of(
    store: Application[UUID],
    db: Database,
    campaign_id: UUID,
    moment: datetime,
    status: str | None,
    contact_id: UUID | None,
    start: int,
    limit: int,
) -> list[dict[str, Any]]:
    """The StepExecutions rows `start` to `start + limit` (fewer at the end) of those that stood at
    `moment` with this status and contact, in `steps_as_of`'s order, each as it stood then: the
    read model says which rows existed and in what order, and each is rebuilt from its own
    enrollment's events (a handful), so a page costs its rows, not the campaign. With a status,
    which rows have it is known only once folded: the rows are folded `SCAN` at a time, in order,
    until the page is full. Falls back to the full fold where the read model cannot say."""
    enrollment = Enrollment.create_id(campaign_id, contact_id) if contact_id else None
    params = {
        "name": StepExecutions.name,
        "follower": f"projection:{StepExecutions.name}",
        "campaign": campaign_id,
        "moment": moment,
        "enrollment": enrollment,
    }
    rows_as_of = sql.SQL(ROWS_AS_OF).format(events=events_table(store))
    found: list[dict[str, Any]] = []
    offset = 0 if status else start
    position: int | None = None  # the read model's, when its first keys were read
    while True:
        want = SCAN if status else limit
        keys = db.fetch_all(rows_as_of, params | {"offset": offset, "limit": want})
        if position is None:  # whatever page: checked once, before any row is taken from it
            position = keys[0]["position"]
            at = keys[0]
            if at["parked"] or not _tail_is_later(store, campaign_id, position, moment, at["head"]):
                return _folded_page(store, db, campaign_id, moment, status, contact_id, start, limit)
        wanted = [(row["enrollment_id"], row["step_id"]) for row in keys if row["enrollment_id"]]
        _, folded = _fold(store, db, list(dict.fromkeys(key[0] for key in wanted)), moment)
        by_key = {(row["enrollment_id"], row["step_id"]): row for row in folded}
        if keys[0]["position"] < position or any(key not in by_key for key in wanted):
            # emptied to be rebuilt in between, or a row the fold does not make (an enrollment the
            # launch did not take): the fold decides (a batch applied in between only adds events
            # later than the moment, or committed after the first keys were read)
            return _folded_page(store, db, campaign_id, moment, status, contact_id, start, limit)
        found.extend(_matching([by_key[key] for key in wanted], status, contact_id))
        offset += want
        if not status or len(found) >= start + limit or len(wanted) < want:
            return found[start : start + limit] if status else found


def _folded_page(
    store: Application[UUID],
    db: Database,
    campaign_id: UUID,
    moment: datetime,
    status: str | None,
    contact_id: UUID | None,
    start: int,
    limit: int,
) -> list[dict[str, Any]]:
    """The same page from the full fold (the reference, and the answer where the read model cannot say)."""
    rows = _matching(steps_as_of(store, db, campaign_id, moment)[1], status, contact_id)
    return rows[start : start + limit]


def _matching(
    rows: list[dict[str, Any]], status: str | None, contact_id: UUID | None
) -> list[dict[str, Any]]:
    return [
        row
        for row in rows
        if (status is None or row["status"] == status)
        and (contact_id is None or row["contact_id"] == contact_id)
    ]


def _enrolled_rows(
    event: Any, rows: dict[tuple[UUID, str], dict[str, Any]], due: dict[tuple[UUID, int], datetime]
) -> None:
    """The rows of a contact just enrolled: pending, or dispatched with the enrolment."""
    sent_off = {step["step_id"] for step in event.dispatched or ()}
    for step in event.plan:
        if step["type"] == "WAIT":
            continue
        status = StepStatus.DISPATCHED if step["id"] in sent_off else StepStatus.PENDING
        rows[(event.originator_id, step["id"])] = {
            "id": f"{event.originator_id}/{step['id']}",
            "enrollment_id": event.originator_id,
            "step_id": step["id"],
            "contact_id": event.contact_id,
            "type": step["type"],
            "step_group": step["group"],
            "status": status.value,
            "created_at": event.timestamp,
            "sent_at": None,
            "error": None,
        }
    if event.group is not None and event.due_at is not None:
        due[(event.originator_id, event.group)] = event.due_at


def step_funnels_now(
    store: Application[UUID], db: Database, campaign_id: UUID, clicked: int
) -> dict[str, dict[str, int]]:
    """Each planned step's funnel now: the StepExecutions read model's kept counts (one row a
    step); its clicks, counted as the log has them, only when the campaign has any (`clicked`, the
    campaign summary's count): those the read model has applied (its kept count) and the
    campaign's StepClicked events after its position, or, with an event of it parked or its lag
    over `MAX_TAIL`, every StepClicked event of the campaign's enrollments."""
    params = {"name": StepExecutions.name, "follower": f"projection:{StepExecutions.name}"}
    rows = db.fetch_all(FUNNELS_NOW, params | {"campaign": campaign_id})
    funnels = _shown(rows)
    later = (
        None if rows[0]["parked"] or not clicked else _clicks_after(store, campaign_id, rows[0]["position"])
    )
    if later is None:  # the clicks from the log alone, as many as it holds (none when the summary says so)
        for funnel in funnels.values():
            funnel["clicked"] = 0
        if clicked:  # a step records its first click only: one event per contact and step
            for event in _events(store, db, _enrollments(db, campaign_id), (Enrollment.StepClicked,)):
                funnels.setdefault(event.step_id, dict.fromkeys(FUNNEL, 0))["clicked"] += 1
        return funnels
    for step_id, count in later.items():
        funnels.setdefault(step_id, dict.fromkeys(FUNNEL, 0))["clicked"] += count
    return funnels


def _clicks_after(store: Application[UUID], campaign_id: UUID, position: int) -> dict[str, int] | None:
    """The campaign's StepClicked events after `position`, counted per step; None when that is
    more than `MAX_TAIL` positions of the log."""
    head = store.recorder.max_notification_id() or 0
    if head - position > MAX_TAIL:
        return None
    counts: dict[str, int] = defaultdict(int)
    wanted: tuple[str, list[str | UUID]] = ("campaign_id", [campaign_id])
    while position < head:
        events, position = read_log(store, position, TAIL_READ, (Enrollment.StepClicked,), wanted)
        for _, event in events:
            if event.campaign_id == campaign_id:
                counts[event.step_id] += 1
    return counts


def milestones(store: Application[UUID], db: Database, campaign_id: UUID) -> list[tuple[str, datetime]]:
    """The campaign's own changes, each named (created, launched, paused, ...) with its time, in order."""
    return [
        (MILESTONES[type(event)], event.timestamp)
        for event in _events(store, db, [campaign_id], tuple(MILESTONES))
    ]
