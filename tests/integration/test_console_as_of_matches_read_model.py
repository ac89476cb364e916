"""The console's view of a campaign as of a moment reads as its read models read then did.

One campaign's contacts end in different states: sent, failed for good, deferred then sent, a
text reply before anything went out, an email reply that withdraws the later steps, a bounce,
two STOP texts and a one-click unsubscribe, opens and clicks, a WAIT before a second group, and a
contact in two campaigns. After each step of that history the StepExecutions read model and the
funnel now (`step_funnels_now`) are read; at the end, with the history grown past every one of
those moments, `steps_as_of` at each moment must give exactly those rows and funnels. The
campaign's milestones come named and timed in order. While the read model lags the log, the
funnel now still shows the clicks (read from the log) and nothing the read model has not counted.

The clock is held by the test (tests/integration/desk.py): each use case runs at a chosen moment,
and each moment is one at which events happened, so an event at the moment itself counts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from commands.audience.suppressions import suppress
from commands.campaigns.campaign_lifecycle import archive_campaign, pause_campaign, resume_campaign
from commands.campaigns.complete_campaign import complete_campaign
from commands.inbound.bounces import record_bounce
from commands.inbound.delivery_reports import record_message_status
from commands.inbound.replies import record_reply_in_enrollment
from commands.inbound.texts_received import receive_text
from commands.sending.providers import SendOutcome
from commands.tracking.record_tracking import follow_click, record_open
from commands.tracking.tracking_tokens import TrackedStep
from domain.enrollment import Enrollment
from domain.withdrawal import one_click_unsubscribe_words
from projections.campaign_moments import (
    FUNNEL,
    executions_as_of,
    funnels_as_of,
    milestones,
    step_funnels_now,
    steps_as_of,
)
from projections.campaign_summaries import summary
from projections.step_executions import REACHED
from runtime.bootstrap import PROJECTIONS
from tests.integration.desk import ROLES, Desk, ScriptedProvider
from tests.support import Client, eventually, running_service

LAUNCH = datetime(2037, 12, 7, 10, 0, tzinfo=UTC)  # after the real clock: the setup runs at real time
OK = SendOutcome(provider_message_id="ok")
BUSY = SendOutcome(error="421 try again later")
REFUSED = SendOutcome(error="550 mailbox unavailable", permanent=True)
STEPS = [
    {"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello, see https://example.com/offer"},
    {"type": "WAIT", "group": 1, "wait_days": 2},
    {"type": "EMAIL", "group": 1, "subject": "Again", "body": "Hello again"},
    {"type": "SMS", "group": 1, "body": "Hello by text"},
]
NAMES = ("ann", "bob", "cy", "dee", "eve", "fay", "gus", "hal", "ivy")
# What the read model has that a row rebuilt from the events does not carry (when each stage was
# first reached is the funnel's, compared through it).
NOT_REBUILT = {"campaign_id", "step_order", *(f"{stage}_first_at" for stage in REACHED)}


def caught_up(d: Desk) -> None:
    """Wait until every read model has applied the whole log."""
    head = d.store.recorder.max_notification_id()

    def applied() -> bool:
        rows = d.service.db.fetch_all(
            "SELECT position FROM projection_positions WHERE projection = ANY(%s)",
            ([p.name for p in PROJECTIONS],),
        )
        return len(rows) == len(PROJECTIONS) and all(row["position"] >= head for row in rows)

    eventually(applied)


def read_now(d: Desk, campaign: UUID) -> tuple[dict[str, dict[str, int]], list[dict[str, Any]]]:
    """The funnels and the StepExecutions rows the console shows now, once the read models caught up."""
    caught_up(d)
    found = summary(d.service.db, d.client.brand_id, campaign)
    assert found is not None
    funnels = step_funnels_now(d.store, d.service.db, campaign, found["clicked"])
    rows = d.service.db.fetch_all(
        """SELECT *, enrollment_id::text || '/' || step_id AS id FROM step_executions
           WHERE campaign_id = %s ORDER BY created_at, enrollment_id, step_id""",
        (campaign,),
    )
    return funnels, rows


def shown(row: dict[str, Any], columns: set[str]) -> dict[str, Any]:
    return {column: row.get(column) for column in sorted(columns)}


def moments_of(d: Desk, enrollments: list[UUID]) -> list[datetime]:
    """Each time an event of these enrollments happened, a microsecond either side, and far
    before and after."""
    times = {event.timestamp for e in enrollments for event in d.store.events.get(e)}
    tick = timedelta(microseconds=1)
    edges = {min(times) - timedelta(days=400), max(times) + timedelta(days=400)}
    return sorted({moment for at in times for moment in (at - tick, at, at + tick)} | edges)


def assert_pages_and_funnels_are_the_full_folds(d: Desk, campaign: UUID, moment: datetime) -> None:
    """As of `moment`, the funnels and every page of the executions (in pages of 2, 7 and all; by
    each status a row has then, or none; for one contact or all) are the full fold's."""
    db = d.service.db
    funnels, rows = steps_as_of(d.store, db, campaign, moment)
    assert funnels_as_of(d.store, db, campaign, moment) == funnels, f"the funnels as of {moment}"
    contacts = [None, *{row["contact_id"] for row in rows[:1]}]
    for status in (None, *sorted({row["status"] for row in rows}), "cancelled"):
        for contact in contacts:
            wanted = [
                row
                for row in rows
                if status in (None, row["status"]) and contact in (None, row["contact_id"])
            ]
            for size in (2, 7, 1_000):
                for start in range(0, len(wanted) + 1, size):
                    got = executions_as_of(d.store, db, campaign, moment, status, contact, start, size)
                    assert got == wanted[start : start + size], (
                        f"rows {start} to {start + size} as of {moment}, {status}, {contact}"
                    )


def test_the_campaign_as_of_each_moment_reads_as_its_read_models_read_then(database_url):
    script = {
        "bob@example.com": [REFUSED, OK],  # the first email fails for good, the second goes
        "cy@example.com": [BUSY, OK],  # the first email waits once, then goes
    }
    # A signing secret, so that opens and clicks have tokens to follow.
    with running_service(
        database_url, roles=ROLES, unsubscribe_secret="moments-signing-secret-of-this-test"
    ) as service:
        d = Desk(service, Client(service), ScriptedProvider(per_address=script))
        d.client.sender("email", "sales@brand.example")
        d.client.sender("sms", "+14155550100")
        people = [
            {"email": f"{name}@example.com", "phone": f"+1415555020{i}"} for i, name in enumerate(NAMES)
        ]
        before_creation = datetime.now(UTC)
        campaign = d.campaign(people, STEPS)
        after_creation = datetime.now(UTC)
        other = d.campaign(people[:1], STEPS[:1])  # Ann is in a second campaign too
        seen: list[tuple[datetime, tuple[dict[str, dict[str, int]], list[dict[str, Any]]]]] = []

        def snapshot(moment: datetime) -> None:
            seen.append((moment, read_now(d, campaign)))

        enrollments = d.launch(campaign, LAUNCH)
        ann, bob, cy, dee, eve, fay, gus, hal, ivy = enrollments
        first, _, second, text = [step.id for step in d.enrollment(ann).plan]
        snapshot(LAUNCH)  # the first email dispatched with each enrolment, the rest pending

        [ann_other] = d.launch(other, LAUNCH + timedelta(minutes=1))
        replied_early = LAUNCH + timedelta(minutes=5)  # Ivy answers before anything was sent
        receive_text(
            d.store, d.service.db, d.client.brand_id, people[8]["phone"], "who is this?", "SM1", replied_early
        )
        snapshot(replied_early)

        sent = LAUNCH + timedelta(minutes=10)
        d.send(d.dispatch(enrollments, sent), sent)
        d.send(d.dispatch([ann_other], sent), sent)
        snapshot(sent)

        later = sent + timedelta(minutes=20)
        tokens = d.service.parts.tracking_tokens
        brand = d.client.brand_id
        record_open(d.store, tokens, tokens.token(TrackedStep(brand, campaign, ann, first)), later)
        for clicker in (ann, dee):
            follow_click(
                d.store, tokens, tokens.token(TrackedStep(brand, campaign, clicker, first, 0)), later
            )
        record_reply_in_enrollment(d.store, dee, "email", "reply-1", later)
        record_bounce(d.store, d.service.db, brand, f"{eve}:{first}", "550 no such user", later)
        for name, sid in (("fay", "SM2"), ("gus", "SM3")):
            receive_text(d.store, d.service.db, brand, people[NAMES.index(name)]["phone"], "STOP", sid, later)
        suppress(
            d.store, d.service.db, brand, "hal@example.com", one_click_unsubscribe_words(campaign), later
        )
        snapshot(later)

        paused, resumed = later + timedelta(hours=1), later + timedelta(hours=2)
        pause_campaign(d.store, brand, campaign, paused)
        resume_campaign(d.store, brand, campaign, resumed)
        [deferred] = d.events(cy, Enrollment.StepDeferred)
        retried = resumed + timedelta(minutes=5)  # each moment after the one before
        assert sent < deferred.due_at <= retried
        d.send(d.dispatch([cy], retried), retried)
        snapshot(retried)

        second_group = LAUNCH + timedelta(days=10)  # every contact's second group is due by then
        d.send(d.dispatch(enrollments, second_group), second_group)
        snapshot(second_group)

        delivered = second_group + timedelta(minutes=3)
        record_message_status(
            d.store, d.service.db, brand, f"{ann}:{text}", "SM9", "delivered", None, delivered
        )
        snapshot(delivered)
        completed, archived = delivered + timedelta(days=1), delivered + timedelta(days=2)
        assert complete_campaign(d.store, campaign, completed)
        archive_campaign(d.store, brand, campaign, archived)

        # The history the moments saw, in words: each contact's steps at the end.
        final_funnels, final_rows = seen[-1][1]
        status = {(row["enrollment_id"], row["step_id"]): row["status"] for row in final_rows}
        assert [status[(e, first)] for e in enrollments] == [
            "sent",
            "failed",
            "sent",
            "sent",
            "undelivered",
            "sent",
            "sent",
            "sent",
            "withdrawn",
        ]
        assert (
            status[(ann, text)] == "delivered" and status[(fay, text)] == status[(gus, text)] == "withdrawn"
        )
        assert status[(hal, second)] == status[(dee, second)] == status[(eve, second)] == "withdrawn"
        assert status[(bob, second)] == "sent" and status[(ivy, second)] == status[(ivy, text)] == "withdrawn"
        assert final_funnels[first] == {
            "enrolled": 9,
            "sent": 7,
            "delivered": 0,
            "opened": 1,
            "clicked": 2,
            "replied": 1,
            "bounced": 1,
            "unsubscribed": 0,
        }
        assert final_funnels[text]["unsubscribed"] == 2 and final_funnels[second]["unsubscribed"] == 1
        assert final_funnels[text]["delivered"] == 1 and set(final_funnels) == {first, second, text}

        for moment, (funnels, rows) in seen:
            then_funnels, then_rows = steps_as_of(d.store, d.service.db, campaign, moment)
            assert then_funnels == funnels, f"the funnels as of {moment}"
            columns = set(rows[0]) - NOT_REBUILT
            assert all(set(row) <= columns for row in then_rows), f"columns no row has, as of {moment}"
            assert [shown(row, columns) for row in then_rows] == [shown(row, columns) for row in rows], (
                f"the step executions as of {moment}"
            )

        assert milestones(d.store, d.service.db, campaign)[1:] == [
            ("launched", LAUNCH),
            ("paused", paused),
            ("resumed", resumed),
            ("completed", completed),
            ("archived", archived),
        ]
        [(created, at)] = milestones(d.store, d.service.db, campaign)[:1]
        assert created == "created" and before_creation <= at <= after_creation

        caught_up(d)  # the read model holds every event: the pages and funnels are read from it
        for moment in moments_of(d, enrollments):
            assert_pages_and_funnels_are_the_full_folds(d, campaign, moment)


def test_a_click_the_read_model_has_not_caught_up_with_counts_in_the_funnel_now_as_a_click_alone(
    database_url,
):
    """The funnel now reads the clicks from the log and the rest from the read model: a step
    whose rows the read model does not hold yet shows its clicks, and nothing it cannot count."""
    secret = {"unsubscribe_secret": "moments-signing-secret-of-this-test"}
    with running_service(database_url, roles=ROLES, **secret) as service:  # set up over the API
        client = Client(service)
        client.sender("email", "sales@brand.example")
        campaign = Desk(service, client, ScriptedProvider()).campaign(
            [{"email": f"{name}@example.com"} for name in NAMES[:3]], STEPS[:1]
        )
    with running_service(database_url, roles=(), **secret) as service:  # no projector from here
        d = Desk(service, client, ScriptedProvider())
        enrolled = d.launch(campaign, LAUNCH)
        ann = enrolled[0]
        d.send(d.dispatch(enrolled, LAUNCH), LAUNCH)
        [first] = [step.id for step in d.enrollment(ann).plan]
        tokens = service.parts.tracking_tokens
        clicked = TrackedStep(client.brand_id, campaign, ann, first, 0)
        follow_click(d.store, tokens, tokens.token(clicked), LAUNCH + timedelta(minutes=1))

        assert step_funnels_now(d.store, service.db, campaign, 1) == {
            first: {name: int(name == "clicked") for name in FUNNEL}
        }
        # As of a moment, the read model lacks what the log holds at or before it: the full fold
        # answers (every page of it); before every event of the campaign, the read model can (it
        # had nothing then).
        for moment in moments_of(d, enrolled):
            assert_pages_and_funnels_are_the_full_folds(d, campaign, moment)
