"""The pacing bucket: pure GCRA arithmetic on an injected clock, and the two places buckets live."""
from __future__ import annotations

import uuid

import pytest
import redis

from badges import pacing
from badges.pacing import BucketState, LocalBuckets, Rate, RedisBuckets, pause, reserve

REDIS_URL = "redis://127.0.0.1:6379/2"


def reserve_many(count: int, now: float, rate: Rate, state: BucketState | None = None) -> list[float]:
    state, slots = state or BucketState(), []
    for _ in range(count):
        state, slot = reserve(state, now, rate)
        slots.append(slot)
    return slots


def test_a_burst_starts_at_once_then_one_slot_per_interval():
    slots = reserve_many(7, now=100.0, rate=Rate(per_second=10, burst=3))
    assert slots[:3] == [100.0] * 3
    assert [round(slot - 100.0, 6) for slot in slots[3:]] == [0.1, 0.2, 0.3, 0.4]


def test_no_window_ever_admits_more_than_the_rate_plus_the_burst():
    """Reservations arriving in bursts of uneven size: count the slots in every one-second window."""
    rate = Rate(per_second=20, burst=4)
    state, slots, now = BucketState(), [], 0.0
    for step in range(200):
        for _ in range(step % 7):
            state, slot = reserve(state, now, rate)
            slots.append(slot)
        now += 0.05
    starts = sorted(slots)
    worst = max(sum(1 for slot in starts if begin <= slot < begin + 1.0) for begin in starts)
    assert worst <= rate.per_second + rate.burst
    assert len(starts) == sum(step % 7 for step in range(200))


def test_a_bucket_left_alone_refills_to_its_burst_and_no_more():
    rate = Rate(per_second=10, burst=3)
    state = BucketState()
    for _ in range(10):
        state, _slot = reserve(state, 0.0, rate)
    later = reserve_many(4, now=60.0, rate=rate, state=state)
    assert later[:3] == pytest.approx([60.0] * 3) and later[3] == pytest.approx(60.1)


def test_a_reservation_of_two_calls_takes_two_intervals():
    rate = Rate(per_second=10, burst=2)
    state, first = reserve(BucketState(), 0.0, rate, cost=2)
    state, second = reserve(state, 0.0, rate)
    assert (first, second) == (0.0, pytest.approx(0.1))
    one_call, _slot = reserve(BucketState(), 0.0, rate)
    assert reserve(one_call, 0.0, rate)[1] == 0.0  # with one call reserved, the burst still has room


def test_a_held_slot_is_kept_without_a_second_reservation():
    rate = Rate(per_second=10, burst=1)
    state, slot = reserve(BucketState(), 0.0, rate)
    state, slot = reserve(state, 0.0, rate)
    after, kept = reserve(state, 0.1, rate, held_slot=slot)
    assert (after, kept) == (state, slot)


def test_a_pause_moves_every_new_slot_past_it_without_a_burst_after():
    rate = Rate(per_second=10, burst=5)
    state = pause(BucketState(), 0.0, 30.0, rate)
    slots = reserve_many(3, now=1.0, rate=rate, state=state)
    assert slots[0] == 30.0
    assert [round(slot, 6) for slot in slots[1:]] == [30.1, 30.2]


def test_a_held_slot_inside_a_pause_is_given_up_and_one_after_it_is_kept():
    rate = Rate(per_second=10, burst=1)
    state = BucketState()
    state, early = reserve(state, 0.0, rate)
    state, _late = reserve(state, 0.0, rate)
    state = pause(state, 0.0, 5.0, rate)
    state, replaced = reserve(state, 0.0, rate, held_slot=early)
    assert replaced >= 5.0
    _state, kept = reserve(state, 0.0, rate, held_slot=7.0)
    assert kept == 7.0


def test_local_buckets_pace_each_account_apart():
    clock = iter([0.0] * 10)
    buckets = LocalBuckets(clock=lambda: next(clock))
    rate = Rate(per_second=2, burst=1)
    first = [buckets.reserve("credly:a", rate, 1, None)[0] for _ in range(3)]
    other = buckets.reserve("credly:b", rate, 1, None)[0]
    assert (first, other) == ([0.0, 0.5, 1.0], 0.0)


def test_an_origin_without_a_rate_is_not_paced(settings):
    settings.BADGES_PROVIDER_RATE_LIMITS = {"credly": {"per_second": 1}}
    assert pacing.reserve_slot("accredible", 1) is None
    assert pacing.reserve_slot("openbadges", 1) is None
    first, second = pacing.reserve_slot("credly", 1), pacing.reserve_slot("credly", 1)
    assert first.wait == 0.0 and second.wait == pytest.approx(1.0, abs=0.5)


@pytest.mark.parametrize("limits, problem", [
    ({"credly": {"per_second": 0}}, "per_second"),
    ({"credly": {"per_second": 5, "burst": 0}}, "burst"),
    ({"credly": {"per_second": 5, "burst": 1.5}}, "burst"),
    ({"credly": {"per_second": True}}, "per_second"),
    ({"credly": {"rate": 5}}, "must be None or a dict"),
])
def test_invalid_rate_limits_are_refused_by_a_system_check(settings, limits, problem):
    settings.BADGES_PROVIDER_RATE_LIMITS = limits
    (error,) = pacing.check_rate_limits()
    assert problem in error.msg and error.id == "badges.E010"


def test_valid_rate_limits_pass_the_system_check(settings):
    settings.BADGES_PROVIDER_RATE_LIMITS = {"credly": {"per_second": 0.5, "burst": 2}, "accredible": None}
    assert pacing.check_rate_limits() == []


@pytest.fixture
def redis_buckets():
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    buckets = RedisBuckets(REDIS_URL)
    yield buckets
    buckets.clear()


def test_redis_buckets_follow_the_same_arithmetic(redis_buckets):
    """A slow rate (one call a minute) so the few milliseconds between calls do not matter."""
    account, rate = f"credly:{uuid.uuid4()}", Rate(per_second=1 / 60, burst=2)
    (a, now_a), (b, _), (c, now_c) = (redis_buckets.reserve(account, rate, 1, None) for _ in range(3))
    assert (a, b) == (now_a, pytest.approx(now_a, abs=1.0))
    assert c == pytest.approx(now_a + 60, abs=1.0) and c > now_c
    assert redis_buckets.reserve(account, rate, 1, c) == (c, pytest.approx(now_c, abs=1.0))


def test_a_pause_in_redis_moves_held_and_new_slots_past_it(redis_buckets):
    account, rate = f"accredible:{uuid.uuid4()}", Rate(per_second=100, burst=1)
    held, now = redis_buckets.reserve(account, rate, 1, None)
    redis_buckets.pause(account, rate, 30)
    again, _now = redis_buckets.reserve(account, rate, 1, held)
    assert again >= now + 30
