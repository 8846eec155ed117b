"""Provider calls paced per provider account, with one bucket shared by every worker.

A grade release can award thousands of badges within a minute; every one is a provider call,
and providers answer 429 above their limit. Retrying into the limit turns the burst into a
storm, so each account (a Credly organization, an Accredible API config) gets a token bucket
in GCRA form: a call *reserves* the next free slot, at most ``rate`` per second after an
initial ``burst``. A task whose slot lies ahead is re-queued with the wait as its countdown and
the slot as its argument (nothing slept on, no attempt counted); when it runs again it holds its
slot and does not reserve a second one. A 429 pauses the whole account: the bucket moves past
the provider's ``Retry-After`` and held slots inside the pause are given up and reserved again.

The bucket lives in Redis when a Redis URL is known (``BADGES_PROVIDER_PACING_REDIS_URL``, else
a ``redis://`` Celery broker), so all worker processes and hosts share it; the reservation is
one Lua script, atomic on the server, on the server's clock. Without Redis (SQLite, eager
Celery) the bucket is kept in the process: exact for one process, per process otherwise.

Open Badges issue in-process and are never paced: an origin without a rate is not paced.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core import checks

from badges.conf import badges_settings

#: Seconds an account is paused after a 429 that carried no ``Retry-After``.
PAUSE_WITHOUT_RETRY_AFTER = 1.0
KEY_PREFIX = "badges:pacing:"


@dataclasses.dataclass(frozen=True)
class Rate:
    """An account's pace: ``per_second`` calls a second after a first ``burst`` at once."""

    per_second: float
    burst: int = 1

    @property
    def interval(self) -> float:
        return 1.0 / self.per_second


@dataclasses.dataclass(frozen=True)
class BucketState:
    """GCRA state: ``tat`` the theoretical arrival time of the next call, ``paused_until`` a 429's end."""

    tat: float = 0.0
    paused_until: float = 0.0


def reserve(state: BucketState, now: float, rate: Rate, cost: int = 1,
            held_slot: float | None = None) -> tuple[BucketState, float]:
    """The bucket after a reservation of ``cost`` calls, and the slot (a time) they may start at.

    A held slot (reserved earlier by the same task) is kept unless a pause began after it was
    taken and covers it; then a new slot is reserved.
    """
    if held_slot is not None and held_slot >= state.paused_until:
        return state, held_slot
    tat = max(state.tat, now) + cost * rate.interval
    slot = max(now, state.paused_until, tat - rate.burst * rate.interval)
    return BucketState(tat, state.paused_until), slot


def pause(state: BucketState, now: float, seconds: float, rate: Rate) -> BucketState:
    """The bucket after the provider asked for ``seconds`` of quiet: no slot before then, and no burst after."""
    until = now + seconds
    return BucketState(max(state.tat, until + (rate.burst - 1) * rate.interval), max(state.paused_until, until))


# --- Settings -------------------------------------------------------------------------------

def rate_for(origin: str) -> Rate | None:
    """The configured pace of ``origin``'s accounts; None: not paced."""
    entry = badges_settings.PROVIDER_RATE_LIMITS.get(origin)
    if not entry:
        return None
    return Rate(per_second=float(entry["per_second"]), burst=int(entry.get("burst", 1)))


def max_sleep() -> float:
    return float(badges_settings.PROVIDER_PACING_MAX_SLEEP_SECONDS)


def check_rate_limits(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """System check: each entry of ``BADGES_PROVIDER_RATE_LIMITS`` is ``{"per_second": > 0, "burst"?: int >= 1}``."""
    limits = badges_settings.PROVIDER_RATE_LIMITS
    if not isinstance(limits, dict):
        return []  # badges.conf's check reports it
    problems = []
    for origin, entry in limits.items():
        if entry is None:
            continue
        if not isinstance(entry, dict) or set(entry) - {"per_second", "burst"}:
            problems.append(f"[{origin!r}] must be None or a dict of per_second and burst, got {entry!r}")
            continue
        per_second, burst = entry.get("per_second"), entry.get("burst", 1)
        if isinstance(per_second, bool) or not isinstance(per_second, int | float) or per_second <= 0:
            problems.append(f"[{origin!r}]['per_second'] must be a number > 0, got {per_second!r}")
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            problems.append(f"[{origin!r}]['burst'] must be an integer >= 1, got {burst!r}")
    return [checks.Error(f"BADGES_PROVIDER_RATE_LIMITS: {problem}.", id="badges.E010") for problem in problems]


# --- Where the buckets live -----------------------------------------------------------------

class LocalBuckets:
    """Buckets in this process (no Redis): exact for one process, each process paces on its own."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._states: dict[str, BucketState] = {}

    def reserve(self, account: str, rate: Rate, cost: int, held_slot: float | None) -> tuple[float, float]:
        """(slot, now)."""
        with self._lock:
            now = self.clock()
            self._states[account], slot = reserve(self._states.get(account, BucketState()), now, rate, cost,
                                                  held_slot)
            return slot, now

    def pause(self, account: str, rate: Rate, seconds: float) -> None:
        with self._lock:
            self._states[account] = pause(self._states.get(account, BucketState()), self.clock(), seconds, rate)

    def clear(self) -> None:
        with self._lock:
            self._states.clear()


# The same arithmetic as reserve() and pause(), run atomically in Redis on the server's clock.
# KEYS[1] the account's hash; ARGV: interval, burst, cost, held slot (-1: none), pause seconds (-1: reserve).
REDIS_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('HGET', KEYS[1], 'tat') or '0')
local paused = tonumber(redis.call('HGET', KEYS[1], 'paused_until') or '0')
local pause_for = tonumber(ARGV[5])
local slot
if pause_for >= 0 then
  local untl = now + pause_for
  tat = math.max(tat, untl + (burst - 1) * interval)
  paused = math.max(paused, untl)
  slot = now
else
  local held = tonumber(ARGV[4])
  if held >= 0 and held >= paused then
    return {tostring(held), tostring(now)}
  end
  tat = math.max(tat, now) + tonumber(ARGV[3]) * interval
  slot = math.max(now, paused, tat - burst * interval)
end
redis.call('HSET', KEYS[1], 'tat', tostring(tat), 'paused_until', tostring(paused))
redis.call('PEXPIRE', KEYS[1], math.ceil((math.max(tat, paused) - now) * 1000) + 60000)
return {tostring(slot), tostring(now)}
"""


class RedisBuckets:
    """Buckets in Redis, shared by every process that reaches the same Redis database."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.script = self.client.register_script(REDIS_SCRIPT)

    def _run(self, account: str, rate: Rate, cost: int, held_slot: float | None,
             pause_for: float) -> tuple[float, float]:
        slot, now = self.script(keys=[KEY_PREFIX + account], args=[
            repr(rate.interval), rate.burst, cost, -1 if held_slot is None else repr(held_slot), repr(pause_for)])
        return float(slot), float(now)

    def reserve(self, account: str, rate: Rate, cost: int, held_slot: float | None) -> tuple[float, float]:
        """(slot, now), both on the Redis server's clock."""
        return self._run(account, rate, cost, held_slot, -1)

    def pause(self, account: str, rate: Rate, seconds: float) -> None:
        self._run(account, rate, 0, None, seconds)

    def clear(self) -> None:
        for key in self.client.scan_iter(match=KEY_PREFIX + "*"):
            self.client.delete(key)


_local = LocalBuckets()
_redis: dict[str, RedisBuckets] = {}


def clear_local_buckets() -> None:
    """Forget this process's buckets (tests start each case with full ones)."""
    _local.clear()


def redis_url() -> str:
    """``BADGES_PROVIDER_PACING_REDIS_URL``, else the Celery broker's URL when it is Redis; "" for none."""
    url = badges_settings.PROVIDER_PACING_REDIS_URL
    if url:
        return url
    from celery import current_app

    if current_app.conf.task_always_eager:
        return ""
    broker = current_app.conf.broker_url or ""
    return broker if broker.startswith(("redis://", "rediss://")) else ""


def buckets() -> LocalBuckets | RedisBuckets:
    """Where this process keeps the buckets (one Redis client per URL, made on first use)."""
    url = redis_url()
    if not url:
        return _local
    if url not in _redis:
        _redis[url] = RedisBuckets(url)
    return _redis[url]


def account_key(origin: str, account_id: Any) -> str:
    return f"{origin}:{account_id}"


@dataclasses.dataclass(frozen=True)
class Slot:
    """When a call may start (``at``) and how long that is from now (``wait``), on the bucket's clock."""

    at: float
    wait: float


def reserve_slot(origin: str, account_id: Any, cost: int = 1, held_slot: float | None = None) -> Slot | None:
    """A slot for ``cost`` calls of the account; None when ``origin`` is not paced."""
    rate = rate_for(origin)
    if rate is None:
        return None
    at, now = buckets().reserve(account_key(origin, account_id), rate, cost, held_slot)
    return Slot(at, max(0.0, at - now))


def pause_account(origin: str, account_id: Any, retry_after: float | None) -> None:
    """The provider answered 429: no call of this account before ``retry_after`` seconds have passed."""
    rate = rate_for(origin)
    if rate is not None:
        seconds = PAUSE_WITHOUT_RETRY_AFTER if retry_after is None else retry_after
        buckets().pause(account_key(origin, account_id), rate, seconds)
