"""Four ``consume_events`` processes race on one Redis stream where every event arrives twice: no duplicates.

Real processes on loopback, on PostgreSQL and on MariaDB: a driver process publishes each
learner's course-passing events (course A, course B) with the Redis event-bus producer onto a
staging stream; this process copies every message twice, one copy after the other, onto the
stream four consumers of one group are blocked on, so the two copies of an event, and a
learner's two events, are handled at the same moment by different processes. The Credly badge
needs both courses, the Accredible credential course A; issuing runs in the consumers (no
broker) against the fake provider.
"""
from __future__ import annotations

import json
import time
import uuid

import pytest
import redis

from badges.conf import COURSE_PASSING_STATUS_UPDATED
from badges.testing.fake_provider import FakeProviderProcess
from badges.testing.processes import wait_until
from tests.e2e.bus_support import TOPIC, start_consumer
from tests.reliability import support
from tests.reliability.summary import ScenarioSummary

LEARNERS = 100
CONSUMERS = 4
GROUP = "badges-reliability"


def blocked_readers(client: redis.Redis) -> int:
    """Connections blocked reading a group of this Redis database (a waiting consumer is not listed
    by ``XINFO CONSUMERS`` before its first message)."""
    database = str(client.connection_pool.connection_kwargs.get("db", 0))
    return sum(1 for entry in client.client_list()
               if entry.get("cmd") == "xreadgroup" and str(entry.get("db")) == database and "b" in entry["flags"])


@pytest.mark.parametrize("database_url", [support.POSTGRES_URL, support.MARIADB_URL], ids=["postgresql", "mariadb"])
def test_racing_consumers_with_every_event_twice_make_no_duplicates(tmp_path, database_url):
    started = time.monotonic()
    client = support.require_redis(support.BUS_REDIS_URL)
    support.fresh_database(database_url)
    vendor = "postgresql" if database_url.startswith("postgres") else "mariadb"
    summary = ScenarioSummary(f"{CONSUMERS} racing redis consumers, every event twice ({vendor})")
    prefix = f"reliability-{uuid.uuid4().hex[:10]}"
    stream = f"{prefix}-{TOPIC}"
    staging = f"{prefix}-stage-{TOPIC}"
    consumers = []
    with FakeProviderProcess() as fake:
        env = support.service_env(database_url, BADGES_CONFIG=json.dumps(fake.badges_config()),
                                  EVENT_BUS_BACKEND="redis", EVENT_BUS_REDIS_CONNECTION_URL=support.BUS_REDIS_URL,
                                  EVENT_BUS_TOPIC_PREFIX=prefix)
        support.seed(fake, env, credly_courses=support.COURSES, accredible_courses=support.COURSES[:1])
        support.driver({**env, "EVENT_BUS_TOPIC_PREFIX": f"{prefix}-stage"}, "publish", "--learners", str(LEARNERS),
                       *[arg for course in support.COURSES for arg in ("--course", course)], "--topic", TOPIC)
        staged = client.xrange(staging)
        assert len(staged) == LEARNERS * len(support.COURSES)
        client.xgroup_create(stream, GROUP, id="0", mkstream=True)
        try:
            for number in range(CONSUMERS):
                consumers.append(start_consumer(env, GROUP, tmp_path / f"consumer-{number}.log",
                                                extra={"consumer_name": f"consumer-{number}", "check_backlog": True}))
            wait_until(lambda: blocked_readers(client) >= CONSUMERS, 90,
                             "every consumer to wait on the stream", interval=0.5)
            for _message_id, fields in staged:
                client.xadd(stream, fields)
                client.xadd(stream, fields)
            deliveries = 2 * len(staged)

            def all_handled() -> dict | None:
                [group] = [g for g in client.xinfo_groups(stream) if g["name"].decode() == GROUP]
                if group["pending"] or group["last-delivered-id"] != client.xrevrange(stream, count=1)[0][0]:
                    return None
                found = support.report(env)
                return found if sum(found[origin]["learners_issued"] for origin in found) >= 2 * LEARNERS else None

            found = wait_until(all_handled, 180, "every event handled and every badge issued", interval=2.0)
        finally:
            for consumer in consumers:
                consumer.stop()
            client.delete(stream, staging)
        holdings = support.provider_holdings(fake)
    summary.events = len(staged)
    summary.scenario += f" deliveries={deliveries}"
    summary.awards = sum(found[origin]["records"] for origin in found)
    summary.provider_issues = sum(holding["issues"] for holding in holdings.values())
    summary.duplicates = (sum(holding["duplicates"] for holding in holdings.values())
                          + sum(found[origin]["extra_records"] for origin in found))
    summary.lost = 2 * LEARNERS - sum(found[origin]["learners_issued"] for origin in found)
    summary.seconds = time.monotonic() - started
    summary.report()

    handled = [consumer.log().count(f"Open edX Event <{COURSE_PASSING_STATUS_UPDATED}>") for consumer in consumers]
    assert sum(handled) == deliveries and all(handled), f"events handled per consumer: {handled}"
    assert summary.awards == 2 * LEARNERS and summary.lost == 0
    assert holdings["credly"] == {"issues": LEARNERS, "duplicates": 0}
    assert holdings["accredible"] == {"issues": LEARNERS, "duplicates": 0}
    assert summary.duplicates == 0
