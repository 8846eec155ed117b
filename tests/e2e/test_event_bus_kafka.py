"""Kafka end to end: LMS-style producer process -> Tansu broker -> ``consume_events`` process -> badge.

Real processes and sockets throughout: a Tansu broker and the test schema registry on free
ports, the fake provider as a process, a SQLite file shared by the processes.
"""
from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

import pytest

from badges.testing.brokers import kafka_servers, prepare_kafka_topic, tansu_unavailable_reason
from badges.testing.fake_provider import FakeProviderProcess
from tests.e2e.bus_support import (
    TOPIC,
    base_env,
    check_award_through_bus,
    check_restart_mid_stream,
    issue_calls,
    kafka_awarded_events,
    local_badges,
    manage,
    start_consumer,
    wait_until,
)

pytestmark = pytest.mark.e2e

GROUP = "badges-e2e"


@pytest.fixture
def bus(tmp_path: Path):
    """Broker, registry and fake provider running; the database migrated and seeded."""
    reason = tansu_unavailable_reason()
    if reason:
        pytest.skip(reason)
    with kafka_servers(tmp_path / "logs") as (broker, registry), FakeProviderProcess() as fake:
        registry_url = f"http://{registry.address}"
        env = base_env(
            tmp_path,
            BADGES_CONFIG=json.dumps(fake.badges_config()),
            EVENT_BUS_BACKEND="kafka",
            EVENT_BUS_CONSUMER="badges.testing.kafka_consumer.ShortSessionKafkaEventConsumer",
            EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=broker.address,
            EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL=registry_url,
        )
        manage(env, "migrate", "--no-input")
        manage(env, "seed_demo")
        prepare_kafka_topic(broker.address, TOPIC, [GROUP])
        yield {
            "env": env,
            "fake": fake,
            "start": lambda: start_consumer(env, GROUP, tmp_path / "consumer.log"),
            "read_awarded": lambda: kafka_awarded_events(broker.address, registry_url, TOPIC),
        }


def test_course_passing_over_kafka_issues_badge_and_publishes_awarded(bus: dict) -> None:
    check_award_through_bus(bus["env"], bus["fake"], bus["start"], bus["read_awarded"], keyed=True)


def test_kafka_consumer_restart_mid_stream_loses_and_duplicates_nothing(bus: dict) -> None:
    check_restart_mid_stream(bus["env"], bus["fake"], bus["start"], bus["read_awarded"], keyed=True)


def test_kafka_replay_of_a_time_range_changes_nothing(bus: dict, tmp_path: Path) -> None:
    """``consume_events --extra '{"offset_time": ...}'`` rewinds the group; re-reading is harmless."""
    env, fake = bus["env"], bus["fake"]
    before = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1)
    check_award_through_bus(env, fake, bus["start"], bus["read_awarded"], keyed=True)

    reset_log = tmp_path / "reset.log"
    # The reset run polls once and then sleeps 30 s: a long first poll lets the group join finish in it.
    reset_env = dict(env, EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT="8")
    reset = start_consumer(reset_env, GROUP, reset_log, extra={"offset_time": before.isoformat()})
    try:
        wait_until(lambda: "Found offsets for timestamp" in reset_log.read_text(), 60,
                   lambda: f"the offset reset:\n{reset_log.read_text()}")
    finally:
        reset.stop()

    replay_log = tmp_path / "replay.log"
    replay = start_consumer(env, GROUP, replay_log)
    try:
        # Both course-passing events and the BADGE_AWARDED message are read again (the consumer
        # logs one line per batch: "Handled N message(s); committing ...").
        wait_until(lambda: sum(map(int, re.findall(r"Handled (\d+) message", replay_log.read_text()))) >= 3, 60,
                   lambda: f"the replay:\n{replay_log.read_text()}")
    finally:
        replay.stop()

    [badge] = local_badges(env)
    assert badge["username"] == "alice"
    assert len(issue_calls(fake)) == 1
    assert [b.uuid for _, b in bus["read_awarded"]()] == [badge["uuid"]]
