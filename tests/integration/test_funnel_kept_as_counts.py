"""Property: the funnel counts the StepExecutions projector keeps equal the grouped count over its
rows, now and as of every moment, on real PostgreSQL; and a replay keeps the same.

Random enrollments of two campaigns (the second another brand's, interleaved with the first),
each with random step events (dispatched, attempted, sent, failed, deferred, cancelled, delivered,
undelivered, answered by a person, opened, clicked, replied, a reply to no step, an unsubscribe or
another withdrawal; a stage may come twice, and an enrollment's outcomes at any time after its
enrolment, in any order: late, out of order, a first time moved earlier), their streams
interleaved into one log, applied by the read model in random batches. Then for each campaign:
the kept counts now (`FUNNELS_NOW`) equal the grouped count (`FUNNELS_COUNTED`), and as of each
event's time, a microsecond either side, the edges of its minute, hour and day, and far before and
after, the kept buckets (`FUNNELS_AT`) equal the grouped count as of then
(`FUNNELS_COUNTED_AS_OF`). The read model is then emptied and the whole log applied again in other
batches, as a replay does: the same answers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.enrollment import Enrollment
from domain.withdrawal import WithdrawalCause
from projections.step_executions import StepExecutions
from projections.step_funnels import (
    FUNNEL,
    FUNNELS_AT,
    FUNNELS_COUNTED,
    FUNNELS_COUNTED_AS_OF,
    FUNNELS_NOW,
    WORDS,
    moment_params,
)
from storage.database import Database

START = datetime(2031, 3, 1, 23, 58, 30, tzinfo=UTC)  # two minutes before a day, an hour and a minute end
STEPS = ("s1", "s2")
KINDS = (
    "dispatched",
    "attempted",
    "sent",
    "failed",
    "deferred",
    "cancelled",
    "delivered",
    "bounced",
    "answered",
    "opened",
    "clicked",
    "replied",
    "replied to none",
    "unsubscribed",
    "withdrawn",
)


def _event(kind: str, enrollment: UUID, version: int, campaign: UUID, step: str, at: datetime) -> Any:
    common = {"originator_id": enrollment, "originator_version": version, "timestamp": at}
    mine = {**common, "campaign_id": campaign, "step_id": step}
    if kind == "dispatched":
        return Enrollment.StepDispatched(**mine, channel="email", group=0, dispatched_at=at)
    if kind == "attempted":
        return Enrollment.StepAttempted(**mine, sender_account_id="a", message_key="k", attempted_at=at)
    if kind == "sent":
        return Enrollment.StepSent(
            **mine, channel="email", sender_account_id="a", provider_message_id="m", credits=1, sent_at=at
        )
    if kind == "failed":
        return Enrollment.StepFailed(**mine, channel="email", reason="no", credits_released=1, failed_at=at)
    if kind == "deferred":
        return Enrollment.StepDeferred(**mine, reason="busy", due_at=at + timedelta(minutes=5))
    if kind == "cancelled":
        return Enrollment.StepCancelled(**mine, reason="paused", cancelled_at=at)
    if kind == "delivered":
        return Enrollment.StepDelivered(**mine, channel="email", detail="delivered", delivered_at=at)
    if kind == "bounced":
        return Enrollment.StepUndelivered(**mine, channel="email", reason="550", undelivered_at=at)
    if kind == "answered":
        return Enrollment.StepAnsweredByHuman(**mine, answered_at=at)
    if kind == "opened":
        return Enrollment.StepOpened(**mine, opened_at=at)
    if kind == "clicked":
        return Enrollment.StepClicked(**mine, url="https://example.com", clicked_at=at)
    if kind.startswith("replied"):
        step_id = None if kind == "replied to none" else step
        return Enrollment.ContactReplied(
            **common,
            campaign_id=campaign,
            step_id=step_id,
            channel="email",
            provider_message_id="r",
            replied_at=at,
        )
    cause = WithdrawalCause.STOP_KEYWORD if kind == "unsubscribed" else WithdrawalCause.SUPPRESSED
    return Enrollment.StepWithdrawn(
        **mine, channel="email", reason="stop", credits_released=0, withdrawn_at=at, cause=cause.value
    )


def _enrolled(enrollment: UUID, campaign: UUID, at: datetime) -> Any:
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
    )


# Seconds after the start (an enrolment) or after the enrolment (an outcome, in any order), over
# two days: some in the same minute, hour or day, some not; a microsecond or none.
offsets = st.tuples(st.integers(0, 2 * 86_400).map(lambda s: s - s % 7), st.sampled_from([0, 1, 999_999]))
enrollment_histories = st.lists(
    st.tuples(
        st.booleans(),  # the other brand's campaign
        offsets,
        st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from(STEPS), offsets), max_size=8),
    ),
    min_size=1,
    max_size=6,
)


def _after(at: datetime, offset: tuple[int, int]) -> datetime:
    return at + timedelta(seconds=offset[0], microseconds=offset[1])


def _apply(db: Database, log: list[Any], cuts: list[int]) -> None:
    start, cut = 0, 0
    while start < len(log):
        size = cuts[cut % len(cuts)]
        with db.transaction() as cur:
            StepExecutions().apply(cur, list(enumerate(log[start : start + size], start=start + 1)))
        start, cut = start + size, cut + 1


def _funnels(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    return {row["step_id"]: {name: int(row[name] or 0) for name in FUNNEL} for row in rows if row["step_id"]}


def _kept_and_counted(db: Database, campaign: UUID, moments: list[datetime]) -> list[Any]:
    """The kept answers (now, then as of each moment), each checked against the grouped count."""
    at = {"name": "none", "follower": "none", "campaign": campaign}
    now = _funnels(db.fetch_all(FUNNELS_NOW, at))
    assert now == _funnels(db.fetch_all(FUNNELS_COUNTED, {"campaign": campaign, **WORDS})), "now"
    answers: list[Any] = [now]
    for moment in moments:
        kept = _funnels(db.fetch_all(FUNNELS_AT, at | moment_params(moment)))
        counted = _funnels(db.fetch_all(FUNNELS_COUNTED_AS_OF, {"campaign": campaign, "moment": moment}))
        assert kept == counted, f"as of {moment}"
        answers.append(kept)
    return answers


def _moments(log: list[Any]) -> list[datetime]:
    tick = timedelta(microseconds=1)
    moments = {START - timedelta(days=1), START + timedelta(days=9)}
    for event in log:
        at = event.timestamp
        moments |= {at - tick, at, at + tick}
        for width in (timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)):
            edge = at - (at - START.replace(hour=0, minute=0, second=0)) % width
            moments |= {edge - tick, edge, edge + width - tick, edge + width}
    return sorted(moments)


@pytest.mark.timeout(180)  # some 20 examples of hundreds of statements each: over 45 s on a busy machine
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    histories=enrollment_histories,
    order=st.randoms(use_true_random=False),
    cuts=st.lists(st.integers(1, 6), min_size=1),
    replay_cuts=st.lists(st.integers(1, 40), min_size=1),
)
def test_the_kept_funnel_counts_are_the_grouped_counts_now_and_at_every_moment_and_after_a_replay(
    database_url, histories, order, cuts, replay_cuts
):
    campaigns = (uuid4(), uuid4())
    streams = []
    for other, enrolled_at, happened in histories:
        enrollment, campaign = uuid4(), campaigns[other]
        at = _after(START, enrolled_at)
        stream = [_enrolled(enrollment, campaign, at)]
        for version, (kind, step, later) in enumerate(happened, start=2):
            stream.append(_event(kind, enrollment, version, campaign, step, _after(at, later)))
        streams.append(stream)
    log: list[Any] = []  # the streams interleaved, each in its own order
    while any(streams):
        stream = order.choice([s for s in streams if s])
        log.append(stream.pop(0))
    moments = _moments(log)
    db = Database(database_url)
    try:
        with db.transaction() as cur:
            StepExecutions().reset(cur)  # the examples share the database
        _apply(db, log, cuts)
        live = [_kept_and_counted(db, campaign, moments) for campaign in campaigns]
        with db.transaction() as cur:
            StepExecutions().reset(cur)
        _apply(db, log, replay_cuts)
        assert [_kept_and_counted(db, campaign, moments) for campaign in campaigns] == live
    finally:
        db.close()
