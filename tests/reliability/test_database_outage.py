"""The database goes away under a running ``consume_events``: no event is lost, consumption resumes.

Real processes on loopback: PostgreSQL behind a TCP fault proxy the test controls
(:mod:`badges.testing.fault_proxy`), a ``consume_events`` process on Redis Streams or on Kafka (a
Tansu broker), a producer process publishing course-passing events all along, and the fake
provider, at which the consumer issues each badge (Celery tasks run in the consumer's process).

Each scenario cuts the database for 20 s while events keep arriving, either ``down`` (connections
closed and refused) or ``blackhole`` (connections accepted and never answered), then lets it back.
Every event sent must end up processed with its learner's badge issued once, and consumption must
resume within 30 s of the database's return.

PostgreSQL: ``RELIABILITY_POSTGRES_URL`` (default ``postgres://postgres@127.0.0.1:5432/badges_reliability``;
its database is dropped and recreated). Redis: ``RELIABILITY_REDIS_URL`` (default database 1).
"""
from __future__ import annotations

import datetime
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest
import redis

from badges.testing.brokers import kafka_servers, prepare_kafka_topic, tansu_unavailable_reason
from badges.testing.fake_provider import FakeProviderProcess
from badges.testing.fault_proxy import FaultProxy, Mode
from badges.testing.processes import stop_process, wait_until
from tests.e2e.bus_support import TOPIC, Consumer, base_env, manage, start_consumer
from tests.reliability.bus_scenario import group_exists, issued_at_provider, outcome, start_producer, wait_for_drain
from tests.reliability.summary import ScenarioSummary

POSTGRES_URL = os.environ.get("RELIABILITY_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/badges_reliability")
REDIS_URL = os.environ.get("RELIABILITY_REDIS_URL", "redis://127.0.0.1:6379/1")
GROUP = "badges-reliability"
OUTAGE_SECONDS = 20
RESUME_BOUND_SECONDS = 30
LEARNERS = 50
SECONDS_BETWEEN_LEARNERS = 0.6  # the producer runs about 30 s: before, during and after the outage
EVENTS_BEFORE_CUT = 10

def postgres_database() -> tuple[str, str]:
    """(the maintenance URL, the database name); fails the test, saying why, without PostgreSQL."""
    parsed = urlparse(POSTGRES_URL)
    maintenance = parsed._replace(path="/postgres").geturl()
    try:
        psycopg.connect(maintenance, connect_timeout=5).close()
    except psycopg.OperationalError as error:
        pytest.fail(f"these scenarios need PostgreSQL at {maintenance} (RELIABILITY_POSTGRES_URL): {error}")
    return maintenance, parsed.path.lstrip("/")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """PostgreSQL migrated and seeded, with the fake provider the demo template issues at."""
    maintenance, name = postgres_database()
    with psycopg.connect(maintenance, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    tmp_path = tmp_path_factory.mktemp("outage")
    with FakeProviderProcess() as fake:
        env = base_env(tmp_path, DATABASE_URL=POSTGRES_URL, BADGES_CONFIG=json.dumps(fake.badges_config()))
        manage(env, "migrate", "--no-input", timeout=300)
        manage(env, "seed_demo")
        yield {"env": env, "fake": fake, "tmp_path": tmp_path}


@dataclass
class Bus:
    name: str
    env: dict[str, str]
    start: Callable[[dict[str, str], Path], Consumer]


@pytest.fixture(scope="module")
def redis_bus() -> Iterator[Callable[[str], Bus]]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.fail(f"these scenarios need Redis at {REDIS_URL} (RELIABILITY_REDIS_URL): {error}")
    streams = []

    def make(prefix: str) -> Bus:
        stream = f"{prefix}-{TOPIC}"
        streams.append(stream)

        def start(env: dict[str, str], log: Path) -> Consumer:
            consumer = start_consumer(env, GROUP, log, extra={"consumer_name": "reliability-1", "check_backlog": True})
            wait_until(lambda: group_exists(client, stream, GROUP), 30,
                       lambda: f"the consumer group:\n{consumer.log()}")
            return consumer

        env = {"EVENT_BUS_BACKEND": "redis", "EVENT_BUS_REDIS_CONNECTION_URL": REDIS_URL,
               "EVENT_BUS_TOPIC_PREFIX": prefix}
        return Bus("redis", env, start)

    yield make
    for stream in streams:
        client.delete(stream)
    client.close()


@pytest.fixture(scope="module")
def kafka_bus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Bus]]:
    reason = tansu_unavailable_reason()
    if reason:
        pytest.fail(f"these scenarios need the local Tansu broker: {reason}")
    with kafka_servers(tmp_path_factory.mktemp("kafka-logs")) as (broker, registry):
        def make(prefix: str) -> Bus:
            # A group of its own per scenario: the broker may still hold the previous scenario's
            # member in a shared group, and then refuses the offset commit of an outside consumer.
            group = f"{prefix}-{GROUP}"
            prepare_kafka_topic(broker.address, f"{prefix}-{TOPIC}", [group])
            env = {"EVENT_BUS_BACKEND": "kafka",
                   "EVENT_BUS_CONSUMER": "badges.testing.kafka_consumer.ShortSessionKafkaEventConsumer",
                   "EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS": broker.address,
                   "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL": f"http://{registry.address}",
                   "EVENT_BUS_TOPIC_PREFIX": prefix}
            return Bus("kafka", env, lambda env, log: start_consumer(env, group, log))

        yield make


def processed_since(moment: datetime.datetime, prefix: str) -> int:
    with psycopg.connect(POSTGRES_URL, connect_timeout=5) as conn:
        row = conn.execute("SELECT count(*) FROM badges_receivedevent WHERE username LIKE %s AND processed_at > %s",
                           (f"{prefix}-%", moment)).fetchone()
    return row[0]


def run_outage(service: dict, bus: Bus, prefix: str, mode: Mode) -> ScenarioSummary:
    started = time.monotonic()
    tmp_path: Path = service["tmp_path"]
    fake: FakeProviderProcess = service["fake"]
    pg = urlparse(POSTGRES_URL)
    with FaultProxy(pg.hostname or "127.0.0.1", pg.port or 5432) as proxy:
        through_proxy = pg._replace(netloc=f"{pg.username}@127.0.0.1:{proxy.port}").geturl()
        consumer_env = {**service["env"], **bus.env, "DATABASE_URL": through_proxy}
        producer_env = {**service["env"], **bus.env}
        consumer = bus.start(consumer_env, tmp_path / f"{prefix}-consumer.log")
        producer_log = tmp_path / f"{prefix}-producer.log"
        producer = start_producer(producer_env, prefix, LEARNERS, SECONDS_BETWEEN_LEARNERS, producer_log)
        try:
            epoch = datetime.datetime.now(datetime.UTC)
            wait_until(lambda: processed_since(epoch, prefix) >= EVENTS_BEFORE_CUT, 60,
                       lambda: f"{EVENTS_BEFORE_CUT} events handled before the cut:\n{consumer.log()}")
            proxy.set_mode(mode)
            time.sleep(OUTAGE_SECONDS)
            assert producer.poll() is None, "the producer stopped before the database came back"
            proxy.set_mode("up")
            back = datetime.datetime.now(datetime.UTC)
            wait_until(lambda: processed_since(back, prefix) > 0, RESUME_BOUND_SECONDS,
                       lambda: f"consumption to resume after the database came back:\n{consumer.log()[-6000:]}")
            resumed_after = (datetime.datetime.now(datetime.UTC) - back).total_seconds()
            producer.wait(120)
            assert producer.returncode == 0, producer_log.read_text()
            sent = 2 * LEARNERS
            wait_for_drain(lambda: processed_since(epoch, prefix), sent)
        finally:
            stop_process(producer)
            consumer.stop()
        # An issuing task that met the outage leaves its badge to the periodic sweep; run it now.
        sweep_env = {**service["env"], "BADGES_SWEEP_GRACE_SECONDS": "0"}
        manage(sweep_env, "sweep_badges")
        wait_for_drain(lambda: len(issued_at_provider(fake, prefix)), LEARNERS, idle_seconds=5)
        result = outcome(service["env"], prefix)
        log = consumer.log()
    issued = issued_at_provider(fake, prefix)
    learners_issued = {b["recipient_email"] for b in issued}
    summary = ScenarioSummary(f"database {mode} {OUTAGE_SECONDS}s under the {bus.name} consumer "
                              f"(resumed within {resumed_after:.1f}s)")
    summary.events = 2 * LEARNERS
    summary.awards = len(result["badges"])
    summary.provider_issues = len(issued)
    summary.duplicates = len(issued) - len(learners_issued)
    summary.lost = summary.events - result["processed"]
    summary.seconds = time.monotonic() - started
    summary.report()
    retries = log.count("Database unavailable while handling")
    detail = (f"{summary.line()}; recorded={result['recorded']} retries logged={retries}; "
              f"consumer log tail:\n{log[-4000:]}")
    assert summary.lost == 0, detail
    assert result["learners_with_both_events"] == LEARNERS, detail
    assert summary.awards == LEARNERS and all(external for _, external in result["badges"]), detail
    assert summary.provider_issues == LEARNERS and summary.duplicates == 0, detail
    return summary


@pytest.mark.parametrize("mode", ["down", "blackhole"])
def test_database_outage_under_the_redis_consumer_loses_nothing(service, redis_bus, mode: Mode) -> None:
    prefix = f"rel-redis-{mode}-{uuid.uuid4().hex[:6]}"
    run_outage(service, redis_bus(prefix), prefix, mode)


@pytest.mark.parametrize("mode", ["down", "blackhole"])
def test_database_outage_under_the_kafka_consumer_loses_nothing(service, kafka_bus, mode: Mode) -> None:
    prefix = f"rel-kafka-{mode}-{uuid.uuid4().hex[:6]}"
    run_outage(service, kafka_bus(prefix), prefix, mode)
