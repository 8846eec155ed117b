"""Helpers for the event-bus end-to-end tests: service processes, database reads, topic reads."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openedx_events.learning.data import BadgeData
from openedx_events.learning.signals import BADGE_AWARDED

from badges.management.commands.seed_demo import DEMO_COURSES, DEMO_TEMPLATE_UUID
from badges.testing.fake_provider import FakeProviderProcess
from badges.testing.processes import stop_process, wait_until

ROOT = Path(__file__).resolve().parents[2]
TOPIC = "learning-badges-lifecycle"
AWARDED = BADGE_AWARDED.event_type
PASSING_BOTH_GROUPS = [DEMO_COURSES["A"], DEMO_COURSES["B"]]


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run a management command in its own process; return stdout, fail with its output on error."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def query(env: dict[str, str], code: str) -> Any:
    """Evaluate Python ``code`` (which sets ``result``) in a Django shell process; return it as JSON."""
    script = f"import json\n{code}\nprint('RESULT=' + json.dumps(result, default=str))"
    out = manage(env, "shell", "-c", script)
    line = next(line for line in out.splitlines() if line.startswith("RESULT="))
    return json.loads(line.removeprefix("RESULT="))


BADGES_QUERY = """
from badges.models import CredlyBadge
result = [
    {"uuid": str(b.uuid), "username": b.username, "status": b.status, "state": b.state,
     "external_uuid": str(b.external_uuid) if b.external_uuid else None}
    for b in CredlyBadge.objects.order_by("id")
]
"""


def local_badges(env: dict[str, str]) -> list[dict[str, Any]]:
    return query(env, BADGES_QUERY)


@dataclass
class Consumer:
    """A ``manage.py consume_events`` process; stopped with SIGINT like an operator's Ctrl-C."""

    process: subprocess.Popen
    log_path: Path

    def stop(self, timeout: float = 20.0) -> None:
        stop_process(self.process, signal.SIGINT, timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_consumer(env: dict[str, str], group: str, log_path: Path, extra: dict[str, Any] | None = None) -> Consumer:
    command = [sys.executable, "manage.py", "consume_events", "-t", TOPIC, "-g", group]
    if extra:
        command += ["--extra", json.dumps(extra)]
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return Consumer(process=process, log_path=log_path)


def send_demo_events(env: dict[str, str], username: str, courses: list[str]) -> str:
    """Publish course-passing events from a producer process (``send_demo_events``)."""
    args = ["send_demo_events", "--username", username]
    for course in courses:
        args += ["--course", course]
    return manage(env, *args)


def badge_from_avro_value(value: bytes) -> BadgeData:
    from openedx_events.event_bus.avro.deserializer import deserialize_bytes_to_event_data

    return deserialize_bytes_to_event_data(value, BADGE_AWARDED)["badge"]


def kafka_awarded_events(bootstrap_servers: str, registry_url: str, full_topic: str) -> list[tuple[str, BadgeData]]:
    """Every ``BADGE_AWARDED`` message on the topic so far, as (message key, badge), read from offset 0."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext
    from openedx_events.event_bus.avro.deserializer import AvroSignalDeserializer

    registry = SchemaRegistryClient({"url": registry_url})
    signal_deserializer = AvroSignalDeserializer(BADGE_AWARDED)
    value_deserializer = AvroDeserializer(
        registry, schema_str=signal_deserializer.schema_string(),
        from_dict=lambda data, ctx: signal_deserializer.from_dict(data),
    )
    key_deserializer = AvroDeserializer(registry)
    consumer = Consumer({"bootstrap.servers": bootstrap_servers, "group.id": "e2e-reader", "enable.auto.commit": False})
    found = []
    try:
        consumer.assign([TopicPartition(full_topic, 0, OFFSET_BEGINNING)])
        idle_polls = 0
        while idle_polls < 3:
            message = consumer.poll(0.5)
            if message is None:
                idle_polls += 1
                continue
            idle_polls = 0
            if message.error():
                continue
            headers = dict(message.headers() or [])
            if headers.get("ce_type", b"").decode() != AWARDED:
                continue
            key = key_deserializer(message.key(), SerializationContext(full_topic, MessageField.KEY))
            data = value_deserializer(message.value(), SerializationContext(full_topic, MessageField.VALUE))
            found.append((key, data["badge"]))
    finally:
        consumer.close()
    return found


def redis_awarded_events(redis_url: str, full_topic: str) -> list[tuple[None, BadgeData]]:
    """Every ``BADGE_AWARDED`` entry in the stream, as (None, badge): stream entries carry no key."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        entries = client.xrange(full_topic)
    finally:
        client.close()
    return [
        (None, badge_from_avro_value(fields[b"event_data"]))
        for _, fields in entries
        if fields.get(b"type", b"").decode() == AWARDED
    ]


def base_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """Environment for service processes: a fresh SQLite file shared by every process of the test."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("EVENT_BUS_", "CELERY_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "credentials_project.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "BADGES_ENABLED": "true",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(overrides)
    return env


def issued_usernames(fake: FakeProviderProcess) -> list[str]:
    """Learners holding a badge at the fake provider (demo emails are ``<username>@example.com``)."""
    return sorted(badge["recipient_email"].split("@")[0] for badge in fake.control.credly_badges())


def issue_calls(fake: FakeProviderProcess) -> list[dict[str, Any]]:
    return [c for c in fake.control.calls() if c["method"] == "POST" and c["path"].endswith("/badges")]


ReadAwarded = Callable[[], list[tuple[str | None, BadgeData]]]
StartConsumer = Callable[[], Consumer]


def check_award_through_bus(env: dict[str, str], fake: FakeProviderProcess, start: StartConsumer,
                            read_awarded: ReadAwarded, *, keyed: bool) -> None:
    """A producer process publishes both passing events; the consumer process awards and issues one
    badge, and ``BADGE_AWARDED`` for it lands on the topic (``keyed``: with the badge's UUID as key)."""
    consumer = start()
    try:
        send_demo_events(env, "alice", PASSING_BOTH_GROUPS)
        wait_until(lambda: issued_usernames(fake) == ["alice"], 60, lambda: f"alice's badge:\n{consumer.log()}")
        awarded = wait_until(read_awarded, 30, lambda: f"BADGE_AWARDED on the topic:\n{consumer.log()}")
    finally:
        consumer.stop()

    [badge] = local_badges(env)
    [provider_badge] = fake.control.credly_badges()
    assert badge["username"] == "alice"
    assert badge["status"] == "awarded"
    assert badge["external_uuid"] == provider_badge["id"]
    assert provider_badge["badge_template"]["id"] == DEMO_TEMPLATE_UUID
    [(key, event_badge)] = awarded
    assert event_badge.uuid == badge["uuid"]
    assert key == (badge["uuid"] if keyed else None)
    assert event_badge.user.pii.username == "alice"
    assert event_badge.template.uuid == DEMO_TEMPLATE_UUID


def check_restart_mid_stream(env: dict[str, str], fake: FakeProviderProcess, start: StartConsumer,
                             read_awarded: ReadAwarded, *, keyed: bool) -> None:
    """Events keep coming while the consumer is stopped with SIGINT and restarted: every learner
    ends with exactly one badge, one issue call and one ``BADGE_AWARDED``."""
    consumer = start()
    try:
        for learner in ("learner1", "learner2"):
            send_demo_events(env, learner, PASSING_BOTH_GROUPS)
        wait_until(lambda: len(issued_usernames(fake)) == 2, 60, lambda: f"two badges:\n{consumer.log()}")
    finally:
        consumer.stop()
    assert consumer.process.returncode is not None

    for learner in ("learner3", "learner4"):  # the stream goes on while the consumer is down
        send_demo_events(env, learner, PASSING_BOTH_GROUPS)
    consumer = start()
    everyone = [f"learner{n}" for n in range(1, 6)]
    try:
        send_demo_events(env, "learner5", PASSING_BOTH_GROUPS)
        wait_until(lambda: issued_usernames(fake) == everyone, 60, lambda: f"five badges:\n{consumer.log()}")
        awarded = wait_until(lambda: (found := read_awarded()) and len(found) >= 5 and found, 30,
                             lambda: f"five BADGE_AWARDED:\n{consumer.log()}")
    finally:
        consumer.stop()

    badges = local_badges(env)
    assert sorted(b["username"] for b in badges) == everyone
    assert all(b["external_uuid"] for b in badges)
    assert len(issue_calls(fake)) == 5
    assert sorted(badge.uuid for _, badge in awarded) == sorted(b["uuid"] for b in badges)
    assert [key for key, _ in awarded] == [badge.uuid if keyed else None for _, badge in awarded]
    assert sorted(badge.user.pii.username for _, badge in awarded) == everyone
