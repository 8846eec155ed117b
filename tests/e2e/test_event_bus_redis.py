"""Redis Streams end to end: producer process -> local Redis -> ``consume_events`` process -> badge.

Uses the local Redis (database 9, or ``E2E_REDIS_URL``) with a topic prefix unique to the test,
the fake provider as a process and a SQLite file shared by the processes.
"""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
import redis

from badges.testing.fake_provider import FakeProviderProcess
from tests.e2e.bus_support import (
    TOPIC,
    base_env,
    check_award_through_bus,
    check_restart_mid_stream,
    manage,
    redis_awarded_events,
    start_consumer,
    wait_until,
)

pytestmark = pytest.mark.e2e

REDIS_URL = os.environ.get("E2E_REDIS_URL", "redis://127.0.0.1:6379/9")
GROUP = "badges-e2e"
# A stable consumer name (so a restart re-reads its own pending messages) and check_backlog (so a
# restart reads what arrived while it was down): both are required in production too.
CONSUMER_OPTIONS = {"consumer_name": "badges-e2e-1", "check_backlog": True}


def group_exists(client: redis.Redis, stream: str) -> bool:
    """Whether the consumer group is on the stream; events sent before it exists would be skipped."""
    try:
        return any(group["name"].decode() == GROUP for group in client.xinfo_groups(stream))
    except redis.ResponseError:  # no such stream yet
        return False


@pytest.fixture
def bus(tmp_path: Path):
    """A unique stream on the local Redis, the fake provider running, the database migrated and seeded."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.skip(f"no Redis at {REDIS_URL}: {error}")
    prefix = f"e2e-{uuid.uuid4().hex[:12]}"
    stream = f"{prefix}-{TOPIC}"
    with FakeProviderProcess() as fake:
        env = base_env(
            tmp_path,
            BADGES_CONFIG=json.dumps(fake.badges_config()),
            EVENT_BUS_BACKEND="redis",
            EVENT_BUS_REDIS_CONNECTION_URL=REDIS_URL,
            EVENT_BUS_TOPIC_PREFIX=prefix,
        )
        manage(env, "migrate", "--no-input")
        manage(env, "seed_demo")

        def start():
            consumer = start_consumer(env, GROUP, tmp_path / "consumer.log", extra=CONSUMER_OPTIONS)
            wait_until(lambda: group_exists(client, stream), 30, lambda: f"the consumer group:\n{consumer.log()}")
            return consumer

        try:
            yield {
                "env": env,
                "fake": fake,
                "start": start,
                "read_awarded": lambda: redis_awarded_events(REDIS_URL, stream),
            }
        finally:
            client.delete(stream)
            client.close()


def test_course_passing_over_redis_issues_badge_and_publishes_awarded(bus: dict) -> None:
    check_award_through_bus(bus["env"], bus["fake"], bus["start"], bus["read_awarded"], keyed=False)


def test_redis_consumer_restart_mid_stream_loses_and_duplicates_nothing(bus: dict) -> None:
    check_restart_mid_stream(bus["env"], bus["fake"], bus["start"], bus["read_awarded"], keyed=False)
