"""Property: the funnel counted from the StepExecutions read model's first-reached times equals the
full fold's, at every moment, on real PostgreSQL.

Random enrollments of one campaign, each with random funnel events (sent, delivered, opened,
clicked, replied, bounced, an unsubscribe or another withdrawal; a stage may come twice), each
enrollment's at times running forward from its enrolment (as domain/event_time.py keeps every
aggregate's history), their streams interleaved into one log, so that times run out of order
against log positions, and applied by the read model in random batches: as of each event's time, a microsecond either side, and far before
and after, the grouped count over the first-reached times (`FUNNELS_COUNTED_AS_OF`) and the counts
kept in buckets of time (`FUNNELS_AT`) equal those of the full fold's own counting
(projections/campaign_moments.py's `_count`, which `steps_as_of` uses).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.campaign_moments import _count
from projections.step_executions import StepExecutions
from projections.step_funnels import FUNNEL, FUNNELS_AT, FUNNELS_COUNTED_AS_OF, moment_params
from storage.database import Database
from tests.integration.test_funnel_kept_as_counts import _enrolled, _event  # the same events, more kinds

START = datetime(2031, 3, 1, 9, tzinfo=UTC)
STEPS = ("s1", "s2")
KINDS = ("sent", "delivered", "opened", "clicked", "replied", "bounced", "unsubscribed", "withdrawn")


minutes = st.integers(0, 600)  # after the start, or after the event before
enrollment_histories = st.lists(
    st.tuples(
        minutes, st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from(STEPS), minutes), max_size=8)
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    histories=enrollment_histories,
    order=st.randoms(use_true_random=False),
    cuts=st.lists(st.integers(1, 6), min_size=1),
)
def test_the_funnel_from_first_reached_times_is_the_full_folds_at_every_moment(
    database_url, histories, order, cuts
):
    campaign = uuid4()
    streams = []
    for enrolled_at, happened in histories:
        enrollment = uuid4()
        at = START + timedelta(minutes=enrolled_at)
        stream = [_enrolled(enrollment, campaign, at)]
        for version, (kind, step, later) in enumerate(happened, start=2):
            at += timedelta(minutes=later)
            stream.append(_event(kind, enrollment, version, campaign, step, at))
        streams.append(stream)
    log: list[Any] = []  # the streams interleaved, each in its own order
    while any(streams):
        stream = order.choice([s for s in streams if s])
        log.append(stream.pop(0))
    db = Database(database_url)
    try:
        start, cut = 0, 0
        while start < len(log):
            size = cuts[cut % len(cuts)]
            with db.transaction() as cur:
                StepExecutions().apply(cur, list(enumerate(log[start : start + size], start=start + 1)))
            start, cut = start + size, cut + 1
        tick = timedelta(microseconds=1)
        times = {event.timestamp for event in log}
        moments = {at + shift for at in times for shift in (-tick, timedelta(0), tick)}
        for moment in sorted(moments | {START - timedelta(days=1), START + timedelta(days=1)}):
            funnels: dict[str, dict[str, set[UUID]]] = defaultdict(lambda: defaultdict(set))
            for event in log:
                if event.timestamp <= moment:
                    _count(event, funnels)
            folded = {
                step: {name: len(reached[name]) for name in FUNNEL} for step, reached in funnels.items()
            }
            rows = db.fetch_all(FUNNELS_COUNTED_AS_OF, {"campaign": campaign, "moment": moment})
            kept = db.fetch_all(
                FUNNELS_AT, {"name": "none", "follower": "none", "campaign": campaign} | moment_params(moment)
            )
            assert _shown(kept) == folded, f"kept, as of {moment}"
            counted = _shown(rows)
            assert counted == folded, f"as of {moment}"
    finally:
        db.close()


def _shown(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    return {row["step_id"]: {name: int(row[name] or 0) for name in FUNNEL} for row in rows if row["step_id"]}
