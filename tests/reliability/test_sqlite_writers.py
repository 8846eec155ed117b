"""Several service processes writing one SQLite file wait for the lock instead of losing results.

The embedded default runs the web service, the consumers and the tasks as separate processes on
one SQLite file. Two Redis Streams ``consume_events`` processes share a consumer group here and
issue each badge at the fake provider in their own process (Celery runs tasks in-process without
a broker), so their transactions overlap all the time. An issuing transaction reads the badge,
calls the provider and then saves the result: a deferred SQLite transaction would fail at that
save with "database is locked" after the provider had issued the badge. With immediate
transactions every writer waits for the lock; every event must be processed and every badge
saved with its provider id, each issued once.

Redis: ``RELIABILITY_REDIS_URL`` (default database 1).
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from pathlib import Path

import pytest
import redis

from badges.testing.fake_provider import FakeProviderProcess
from badges.testing.processes import stop_process, wait_until
from tests.e2e.bus_support import TOPIC, base_env, manage, start_consumer
from tests.reliability.bus_scenario import group_exists, issued_at_provider, outcome, start_producer, wait_for_drain
from tests.reliability.summary import ScenarioSummary

REDIS_URL = os.environ.get("RELIABILITY_REDIS_URL", "redis://127.0.0.1:6379/1")
GROUP = "badges-sqlite"
CONSUMERS = 2
LEARNERS = 30


def processed(database: Path, prefix: str) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as conn:
        return conn.execute("SELECT count(*) FROM badges_receivedevent WHERE username LIKE ? AND status = 'processed'",
                            (f"{prefix}-%",)).fetchone()[0]


def test_two_consumers_and_their_tasks_on_one_sqlite_file_lose_no_provider_result(tmp_path: Path) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.fail(f"this scenario needs Redis at {REDIS_URL} (RELIABILITY_REDIS_URL): {error}")
    started = time.monotonic()
    prefix = f"rel-sqlite-{uuid.uuid4().hex[:6]}"
    stream = f"{prefix}-{TOPIC}"
    database = tmp_path / "db.sqlite3"
    consumers = []
    try:
        with FakeProviderProcess() as fake:
            env = base_env(tmp_path, BADGES_CONFIG=json.dumps(fake.badges_config()), EVENT_BUS_BACKEND="redis",
                           EVENT_BUS_REDIS_CONNECTION_URL=REDIS_URL, EVENT_BUS_TOPIC_PREFIX=prefix)
            manage(env, "migrate", "--no-input")
            manage(env, "seed_demo")
            for number in range(CONSUMERS):
                consumers.append(start_consumer(env, GROUP, tmp_path / f"consumer-{number}.log",
                                                extra={"consumer_name": f"sqlite-{number}", "check_backlog": True}))
            wait_until(lambda: group_exists(client, stream, GROUP), 30, "the consumer group")
            producer = start_producer(env, prefix, LEARNERS, 0, tmp_path / "producer.log")
            try:
                producer.wait(120)
            finally:
                stop_process(producer)
            wait_for_drain(lambda: processed(database, prefix), 2 * LEARNERS)
            wait_for_drain(lambda: len(issued_at_provider(fake, prefix)), LEARNERS, idle_seconds=5)
            for consumer in consumers:
                consumer.stop()
            result = outcome(env, prefix)
            issued = issued_at_provider(fake, prefix)
    finally:
        for consumer in consumers:
            consumer.stop()
        client.delete(stream)
        client.close()
    logs = "".join(consumer.log() for consumer in consumers)
    saved = [external for _, external in result["badges"] if external]
    summary = ScenarioSummary(f"{CONSUMERS} Redis consumers issuing on one SQLite file", events=2 * LEARNERS,
                              awards=len(result["badges"]), provider_issues=len(issued),
                              duplicates=len(issued) - len({b["recipient_email"] for b in issued}),
                              lost=2 * LEARNERS - result["processed"] + len(result["badges"]) - len(saved),
                              seconds=time.monotonic() - started)
    summary.report()
    detail = f"{summary.line()}; 'database is locked' logged {logs.count('database is locked')} times"
    assert result["processed"] == 2 * LEARNERS, detail
    assert len(result["badges"]) == LEARNERS, detail
    assert len(saved) == LEARNERS, f"badges issued at the provider but not saved locally: {detail}"
    assert len(issued) == LEARNERS and summary.duplicates == 0, detail
