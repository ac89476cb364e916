"""Sender rotation: the contact's previous sender first, then up to three by highest remaining quota."""

from __future__ import annotations

from uuid import UUID, uuid4

from hypothesis import given
from hypothesis import strategies as st

from domain.sender_choice import MAX_FALLBACK_TRIES, SenderQuota, rotation_order, warmup_limit

accounts = st.lists(
    st.builds(
        SenderQuota,
        id=st.uuids(),
        limit_today=st.integers(0, 50),
        sends_today=st.integers(0, 50),
        healthy=st.booleans(),
    ),
    max_size=8,
    unique_by=lambda a: a.id,
)


@given(accounts, st.data())
def test_rotation_tries_only_healthy_accounts_with_quota_previous_sender_first(pool, data):
    preferred = data.draw(st.sampled_from([a.id for a in pool] + [uuid4()])) if pool else None
    order = rotation_order(pool, preferred)
    by_id = {a.id: a for a in pool}
    assert all(by_id[i].healthy and by_id[i].remaining > 0 for i in order)
    assert len(set(order)) == len(order)
    fallback = order[1:] if order and order[0] == preferred else order
    assert len(fallback) <= MAX_FALLBACK_TRIES
    remaining = [by_id[i].remaining for i in fallback]
    assert remaining == sorted(remaining, reverse=True)
    usable_preferred = preferred in by_id and by_id[preferred].healthy and by_id[preferred].remaining > 0
    assert (order[:1] == [preferred]) == usable_preferred
    others = [a for a in pool if a.healthy and a.remaining > 0 and a.id != preferred]
    assert len(fallback) == min(len(others), MAX_FALLBACK_TRIES)
    if others and fallback:
        assert by_id[fallback[0]].remaining == max(a.remaining for a in others)


def test_the_previous_sender_is_kept_while_it_has_quota_even_if_others_have_more():
    previous, roomy = UUID(int=1), UUID(int=2)
    pool = [SenderQuota(previous, 10, 9), SenderQuota(roomy, 100, 0)]
    assert rotation_order(pool, previous) == [previous, roomy]
    pool = [SenderQuota(previous, 10, 10), SenderQuota(roomy, 100, 0)]
    assert rotation_order(pool, previous) == [roomy]


@given(st.integers(0, 1000), st.integers(0, 100), st.integers(0, 50), st.integers(0, 400))
def test_warmup_limit_grows_daily_up_to_the_daily_limit(daily, start, step, day):
    limit = warmup_limit(daily, True, start, step, day)
    assert limit == min(daily, start + step * day)
    assert warmup_limit(daily, True, start, step, day + 1) >= limit
    assert warmup_limit(daily, False, start, step, day) == daily


def test_accounts_with_equal_quota_left_are_tried_in_id_order():
    first, second, third, fourth = (UUID(int=i) for i in (1, 2, 3, 4))
    pool = [
        SenderQuota(third, 10, 5),
        SenderQuota(fourth, 10, 5),
        SenderQuota(first, 10, 5),
        SenderQuota(second, 9, 4),
    ]
    assert rotation_order(pool, None) == [first, second, third]


@given(accounts, st.randoms(use_true_random=False), st.data())
def test_the_order_does_not_depend_on_how_the_accounts_are_listed(pool, random, data):
    preferred = data.draw(st.sampled_from([a.id for a in pool])) if pool else None
    assert rotation_order(random.sample(pool, len(pool)), preferred) == rotation_order(pool, preferred)
