"""The per-brand token buckets and the cap on heavy work (api/rate_limits.py), on a clock in hand."""

from __future__ import annotations

from uuid import uuid4

from api.rate_limits import HeavyWork, Rate, TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def buckets(clock: Clock) -> TokenBuckets:
    return TokenBuckets({"basic": Rate(2.0, 4), "premium": Rate(10.0, 20)}, clock=clock)


def test_a_brand_takes_its_burst_then_waits_for_the_refill():
    clock, brand = Clock(), uuid4()
    limits = buckets(clock)
    taken = [limits.take(brand, "basic") for _ in range(4)]
    assert [d.allowed for d in taken] == [True] * 4
    assert [d.remaining for d in taken] == [3, 2, 1, 0]
    assert taken[-1].reset == 2  # 4 tokens at 2 a second

    refused = limits.take(brand, "basic")
    assert (refused.allowed, refused.remaining, refused.retry_after) == (False, 0, 1)

    clock.now += 0.5  # one token back
    assert limits.take(brand, "basic").allowed
    assert not limits.take(brand, "basic").allowed


def test_the_bucket_never_holds_more_than_its_burst():
    clock, brand = Clock(), uuid4()
    limits = buckets(clock)
    limits.take(brand, "basic")
    clock.now += 3600
    assert limits.take(brand, "basic").remaining == 3


def test_brands_have_buckets_of_their_own_and_their_plans_rate():
    clock, greedy, other = Clock(), uuid4(), uuid4()
    limits = buckets(clock)
    for _ in range(10):
        limits.take(greedy, "basic")
    assert limits.take(other, "basic").remaining == 3
    premium = limits.take(uuid4(), "premium")
    assert (premium.limit, premium.remaining) == (20, 19)
    assert limits.take(uuid4(), "no such plan").limit == 4  # an unknown plan gets basic's


def test_a_refilled_bucket_is_swept_and_a_draining_one_kept():
    clock, idle, busy = Clock(), uuid4(), uuid4()
    limits = buckets(clock)
    limits.take(idle, "basic")
    clock.now += 0.5  # idle is full again; busy has just taken its tokens
    for _ in range(4):
        limits.take(busy, "basic")
    limits.sweep()
    assert len(limits) == 1
    assert limits.take(busy, "basic").allowed is False


def test_heavy_work_is_capped_per_brand_and_freed_on_leaving():
    heavy, brand, other = HeavyWork(2), uuid4(), uuid4()
    assert heavy.enter(brand) and heavy.enter(brand)
    assert not heavy.enter(brand)
    assert heavy.enter(other)
    heavy.leave(brand)
    assert heavy.enter(brand)
