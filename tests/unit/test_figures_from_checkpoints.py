"""A campaign's figures added up from checkpoints equal folding every event, for any history.

Random histories of counted events of a few campaigns, their times out of order against their log
positions, cut into projector batches at random (each batch leaving one checkpoint per campaign),
each batch's events of a campaign in checkpoints of a random size, a small one joining the
campaign's latest, the checkpoints taken up to a random log position and the events after it read as the tail: as of
any moment (an event's own time, just before or after one, or far off) the figures equal the sum
of every event of the campaign at or before it.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.campaign_figures import FIGURES, Checkpoint, checkpoints_of, figures_as_of, microseconds

START = datetime(2026, 12, 1, tzinfo=UTC)
CAMPAIGNS = ("a", "b", "c")

moved = st.dictionaries(st.sampled_from(FIGURES), st.integers(1, 3), min_size=1, max_size=2)
history = st.lists(
    st.tuples(st.sampled_from(CAMPAIGNS), st.integers(0, 50_000_000), moved), min_size=0, max_size=60
)


def _folded(
    events: list[tuple[int, str, datetime, dict[str, int]]], campaign: str, moment: datetime
) -> dict[str, int]:
    figures = Counter(dict.fromkeys(FIGURES, 0))
    for _, owner, at, figures_moved in events:
        if owner == campaign and at <= moment:
            figures.update(figures_moved)
    return dict(figures)


def _from_checkpoints(
    events: list[tuple[int, str, datetime, dict[str, int]]],
    cuts: list[int],
    applied: int,
    size: int,
    campaign: str,
    moment: datetime,
) -> dict[str, int]:
    """Checkpoints of the batches up to log position `applied`, summed as the read model's query
    sums them, and the events after it as the tail."""
    bounds = sorted({cut for cut in cuts if cut < applied} | {applied})
    checkpoints: list[Checkpoint] = []
    start = 0
    for bound in bounds:
        batch = [event for event in events if start < event[0] <= bound]
        for owner, checkpoint in checkpoints_of(batch, size):
            if owner != campaign:
                continue
            if checkpoints and checkpoints[-1].can_absorb(checkpoint, size):  # as the read model keeps it
                checkpoints[-1].absorb(checkpoint)
            else:
                checkpoints.append(checkpoint)
        start = bound
    whole = Counter[str]()
    for checkpoint in checkpoints:
        if checkpoint.latest <= moment:
            whole.update(checkpoint.figures)
    split = Counter[str]()  # as the read model's query sums them
    until = microseconds(moment)
    for checkpoint in checkpoints:
        if checkpoint.earliest <= moment < checkpoint.latest:
            for at, name, amount in checkpoint.moments:
                if at <= until:
                    split[name] += amount
    tail = [
        (at, figures) for position, owner, at, figures in events if position > applied and owner == campaign
    ]
    return figures_as_of(whole, split, tail, moment)


@settings(max_examples=400, deadline=None)
@given(
    history=history,
    cuts=st.lists(st.integers(1, 60), max_size=10),
    applied=st.integers(0, 61),
    picks=st.lists(st.tuples(st.integers(0, 59), st.sampled_from((-1, 0, 1))), min_size=1, max_size=6),
    size=st.integers(1, 8),
    campaign=st.sampled_from(CAMPAIGNS),
)
def test_checkpoints_and_tail_give_the_full_folds_figures_at_every_moment(
    history, cuts, applied, picks, size, campaign
):
    events = [
        (position, owner, START + timedelta(microseconds=offset), figures)
        for position, (owner, offset, figures) in enumerate(history, start=1)
    ]
    moments = [START - timedelta(days=1), START + timedelta(days=1)]
    for index, shift in picks:
        if events:
            moments.append(events[index % len(events)][2] + timedelta(microseconds=shift))
    for moment in moments:
        assert _from_checkpoints(events, cuts, applied, size, campaign, moment) == _folded(
            events, campaign, moment
        )


def test_a_checkpoint_whose_times_run_backwards_still_counts_only_what_happened_by_the_moment():
    late, early = START + timedelta(minutes=5), START + timedelta(minutes=1)
    events = [(1, "a", late, {"sent_email": 1}), (2, "a", early, {"enrolled": 1})]
    [(_, checkpoint)] = checkpoints_of(events)
    assert (checkpoint.earliest, checkpoint.latest) == (early, late)
    figures = _from_checkpoints(events, [], 2, 10, "a", START + timedelta(minutes=2))
    assert figures["enrolled"] == 1 and figures["sent_email"] == 0
