"""The bus consumers' batched loop, through the real consumer classes against a real Redis (and,
marked e2e, a real Kafka-protocol broker): acknowledged only after handling, an interrupted batch
leaves the rest on the bus, one INFO line per batch, and no connection check per message."""
from __future__ import annotations

import datetime
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.db import connection
from django.test import override_settings
from opaque_keys.edx.keys import CourseKey
from openedx_events.data import EventsMetadata
from openedx_events.learning.data import CourseData, CoursePassingStatusData, UserData, UserPersonalData
from openedx_events.learning.signals import COURSE_PASSING_STATUS_UPDATED

from badges import consumers
from badges.consumers import ConnectionCheck, DatabaseWaitingKafkaEventConsumer, DatabaseWaitingRedisEventConsumer
from badges.models import RulebookVersion

REDIS_URL = os.environ.get("TEST_BUS_REDIS_URL", "redis://127.0.0.1:6379/9")
TOPIC = "learning-badges-lifecycle"
GROUP = "badges-batching"
BUS_LOGGERS = ("edx_event_bus_redis", "edx_event_bus_kafka", "badges.consumers")

pytestmark = pytest.mark.django_db(transaction=True)


def passing_status(number: int) -> CoursePassingStatusData:
    return CoursePassingStatusData(
        is_passing=True,
        course=CourseData(course_key=CourseKey.from_string(f"course-v1:Batch+C{number}+2026")),
        user=UserData(id=500 + number, is_active=True,
                      pii=UserPersonalData(username=f"batch-{number}", email=f"batch-{number}@example.com")),
    )


def publish(producer: Any, count: int) -> None:
    for number in range(count):
        metadata = EventsMetadata(event_type=COURSE_PASSING_STATUS_UPDATED.event_type, minorversion=0,
                                  time=datetime.datetime.now(datetime.UTC))
        producer.send(signal=COURSE_PASSING_STATUS_UPDATED, topic=TOPIC,
                      event_key_field="course_passing_status.course.course_key",
                      event_data={"course_passing_status": passing_status(number)}, event_metadata=metadata)
    if hasattr(producer, "prepare_for_shutdown"):
        producer.prepare_for_shutdown()


@pytest.fixture
def receiver() -> Iterator[Callable[[Callable[[int], None]], list[int]]]:
    """Connect a receiver after the service's: it records each event's number (in a list it
    returns) and calls ``on_event`` with it."""

    def connect(on_event: Callable[[int], None]) -> list[int]:
        seen: list[int] = []

        def record(course_passing_status: CoursePassingStatusData, **kwargs: Any) -> None:
            seen.append(course_passing_status.user.id - 500)
            on_event(seen[-1])

        COURSE_PASSING_STATUS_UPDATED.connect(record, weak=False, dispatch_uid="batching-test")
        return seen

    yield connect
    COURSE_PASSING_STATUS_UPDATED.disconnect(dispatch_uid="batching-test")


# --- Redis Streams ---------------------------------------------------------------------------

@pytest.fixture
def redis_bus() -> Iterator[dict[str, Any]]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.skip(f"no Redis at {REDIS_URL} (TEST_BUS_REDIS_URL): {error}")
    prefix = f"batching-{uuid.uuid4().hex[:8]}"
    with override_settings(EVENT_BUS_REDIS_CONNECTION_URL=REDIS_URL, EVENT_BUS_TOPIC_PREFIX=prefix,
                           BADGES_CONSUMER_BATCH_SIZE=10):
        from edx_event_bus_redis import create_producer

        yield {"client": client, "stream": f"{prefix}-{TOPIC}", "publish": lambda n: publish(create_producer(), n)}
    client.delete(f"{prefix}-{TOPIC}")
    client.close()


def redis_consumer(name: str = "batching-1") -> DatabaseWaitingRedisEventConsumer:
    return DatabaseWaitingRedisEventConsumer(TOPIC, GROUP, name, check_backlog=True)


def redis_pending(bus: dict[str, Any]) -> int:
    return bus["client"].xpending(bus["stream"], GROUP)["pending"]


def stop_after(consumer_box: list, count: int, also: Callable[[int], None] = lambda number: None):
    def on_event(number: int) -> None:
        also(number)
        if number == count - 1:
            consumer_box[0]._shut_down()
    return on_event


def test_redis_reads_a_batch_and_acknowledges_it_only_after_handling_it(redis_bus, receiver) -> None:
    redis_bus["publish"](5)
    box: list = []
    pending_while_handling: list[int] = []
    seen = receiver(stop_after(box, 5, lambda number: pending_while_handling.append(redis_pending(redis_bus))))
    box.append(redis_consumer())
    box[0].consume_indefinitely()
    assert seen == [0, 1, 2, 3, 4]
    # one read took all five; none was acknowledged while any of them was being handled
    assert pending_while_handling == [5, 5, 5, 5, 5]
    assert redis_pending(redis_bus) == 0


def test_redis_interrupted_batch_acknowledges_only_what_was_handled(redis_bus, receiver) -> None:
    redis_bus["publish"](5)

    def interrupt(number: int) -> None:
        if number == 2:
            raise KeyboardInterrupt  # Ctrl-C while the third message is being handled

    first = receiver(interrupt)
    with pytest.raises(KeyboardInterrupt):
        redis_consumer().consume_indefinitely()
    assert first == [0, 1, 2]
    pending = bus_pending_numbers(redis_bus)
    assert pending == [2, 3, 4]  # the interrupted message and the two never reached

    COURSE_PASSING_STATUS_UPDATED.disconnect(dispatch_uid="batching-test")
    box: list = []
    again = receiver(stop_after(box, 5))
    box.append(redis_consumer())  # the same consumer name, restarted: its pending entries first
    box[0].consume_indefinitely()
    assert again == [2, 3, 4]
    assert redis_pending(redis_bus) == 0


def bus_pending_numbers(bus: dict[str, Any]) -> list[int]:
    """The positions (0-based, in publishing order) of the group's pending entries."""
    order = [entry_id for entry_id, _fields in bus["client"].xrange(bus["stream"])]
    pending = {entry["message_id"] for entry in bus["client"].xpending_range(bus["stream"], GROUP, "-", "+", 100)}
    return [position for position, entry_id in enumerate(order) if entry_id in pending]


def test_redis_logs_one_info_line_per_batch_and_still_reports_errors(redis_bus, receiver, caplog) -> None:
    redis_bus["publish"](6)
    box: list = []

    def fail_one(number: int) -> None:
        if number == 3:
            raise ValueError("unusable event")

    receiver(stop_after(box, 6, fail_one))
    box.append(redis_consumer())
    caplog.clear()  # the producer's lines
    with caplog.at_level(logging.INFO):
        box[0].consume_indefinitely()
    bus_info = [r for r in caplog.records if r.name.startswith(BUS_LOGGERS) and r.levelno == logging.INFO]
    errors = [r for r in caplog.records if r.name.startswith(BUS_LOGGERS) and r.levelno >= logging.WARNING]
    # "Running consumer" and one line for the batch of six, not two per message
    assert len(bus_info) == 2, [r.getMessage() for r in bus_info]
    assert len(errors) == 1 and "unusable event" in errors[0].getMessage()
    assert redis_pending(redis_bus) == 0  # the failed one is acknowledged after being recorded, as before


def count_connection_checks(monkeypatch) -> list[int]:
    """Count ``is_usable()`` calls: the connection check openedx-events runs before a message
    (on PostgreSQL and MySQL a ``SELECT 1`` round trip)."""
    calls: list[int] = []
    real = connection.is_usable

    def counted() -> bool:
        calls.append(1)
        return real()

    monkeypatch.setattr(connection, "is_usable", counted)
    return calls


def test_redis_checks_the_connection_before_the_first_message_and_after_a_failure(redis_bus, receiver,
                                                                                   monkeypatch) -> None:
    redis_bus["publish"](8)
    connection.ensure_connection()
    checks = count_connection_checks(monkeypatch)
    box: list = []

    def fail_one(number: int) -> None:
        if number == 4:
            raise ValueError("unusable event")

    receiver(stop_after(box, 8, fail_one))
    box.append(redis_consumer())
    box[0].consume_indefinitely()
    assert len(checks) == 2  # before message 0, and before message 5 (after the failed one); not 8


def consume_counting_version_reads(consumer_box: list) -> list[str]:
    """Run the consumer in ``consumer_box``; return the configuration version queries it ran."""
    version_reads: list[str] = []
    table = RulebookVersion._meta.db_table

    def count_version_reads(execute, sql, params, many, context):
        if table in sql:
            version_reads.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count_version_reads):
        consumer_box[0].consume_indefinitely()
    return version_reads


def test_redis_batch_shares_one_configuration_check(redis_bus, receiver) -> None:
    """The service's receiver reads the configuration version once for the batch, not per message."""
    redis_bus["publish"](6)
    box: list = []
    seen = receiver(stop_after(box, 6))
    box.append(redis_consumer())
    version_reads = consume_counting_version_reads(box)
    assert seen == [0, 1, 2, 3, 4, 5]
    assert len(version_reads) == 1, version_reads


def test_the_connection_check_runs_again_after_an_idle_spell(monkeypatch) -> None:
    now = [100.0]
    checked: list[str] = []
    monkeypatch.setattr(consumers, "prepare_for_new_work_cycle", lambda: checked.append("check"))
    check = ConnectionCheck(idle_seconds=10, clock=lambda: now[0])
    for pause in (0, 1, 1, 11, 1):
        now[0] += pause
        check.before_message()
        check.after_message(failed=False)
    assert checked == ["check", "check"]  # the first message and the one after 11 idle seconds


# --- Kafka (Tansu broker) --------------------------------------------------------------------

@pytest.fixture(scope="module")
def kafka_servers_running(tmp_path_factory) -> Iterator[dict[str, str]]:
    from badges.testing.brokers import kafka_servers, tansu_unavailable_reason

    reason = tansu_unavailable_reason()
    if reason:
        pytest.skip(reason)
    with kafka_servers(tmp_path_factory.mktemp("kafka-logs")) as (broker, registry):
        yield {"bootstrap": broker.address, "registry": f"http://{registry.address}"}


@pytest.fixture
def kafka_bus(kafka_servers_running) -> Iterator[dict[str, Any]]:
    from badges.testing.brokers import prepare_kafka_topic

    prefix = f"batching-{uuid.uuid4().hex[:8]}"
    full_topic = f"{prefix}-{TOPIC}"
    prepare_kafka_topic(kafka_servers_running["bootstrap"], full_topic, [GROUP])
    with override_settings(EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=kafka_servers_running["bootstrap"],
                           EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL=kafka_servers_running["registry"],
                           EVENT_BUS_TOPIC_PREFIX=prefix, BADGES_CONSUMER_BATCH_SIZE=10):
        from edx_event_bus_kafka import create_producer

        yield {"topic": full_topic, "bootstrap": kafka_servers_running["bootstrap"],
               "publish": lambda n: publish(create_producer(), n)}


def kafka_consumer() -> DatabaseWaitingKafkaEventConsumer:
    from badges.testing.kafka_consumer import ShortSessionKafkaEventConsumer

    return ShortSessionKafkaEventConsumer(TOPIC, GROUP)


def kafka_committed(bus: dict[str, Any]) -> int:
    from confluent_kafka import Consumer, TopicPartition

    reader = Consumer({"bootstrap.servers": bus["bootstrap"], "group.id": GROUP, "enable.auto.commit": False})
    try:
        return reader.committed([TopicPartition(bus["topic"], 0)], timeout=10)[0].offset
    finally:
        reader.close()


@pytest.mark.e2e
def test_kafka_commits_a_batch_only_after_handling_it(kafka_bus, receiver) -> None:
    kafka_bus["publish"](5)
    box: list = []
    committed_while_handling: list[int] = []
    seen = receiver(stop_after(box, 5, lambda number: committed_while_handling.append(kafka_committed(kafka_bus))))
    box.append(kafka_consumer())
    box[0].consume_indefinitely()
    assert seen == [0, 1, 2, 3, 4]
    assert committed_while_handling == [0, 0, 0, 0, 0]  # nothing committed while the batch is handled
    assert kafka_committed(kafka_bus) == 5


@pytest.mark.e2e
def test_kafka_interrupted_batch_commits_only_what_was_handled(kafka_bus, receiver) -> None:
    kafka_bus["publish"](5)

    def interrupt(number: int) -> None:
        if number == 2:
            raise KeyboardInterrupt

    first = receiver(interrupt)
    with pytest.raises(KeyboardInterrupt):
        kafka_consumer().consume_indefinitely()
    assert first == [0, 1, 2]
    assert kafka_committed(kafka_bus) == 2  # offsets 0 and 1 handled; 2 (interrupted), 3 and 4 are read again

    COURSE_PASSING_STATUS_UPDATED.disconnect(dispatch_uid="batching-test")
    box: list = []
    again = receiver(stop_after(box, 5))
    box.append(kafka_consumer())
    box[0].consume_indefinitely()
    assert again == [2, 3, 4]
    assert kafka_committed(kafka_bus) == 5


@pytest.mark.e2e
def test_kafka_batch_shares_one_configuration_check(kafka_bus, receiver) -> None:
    kafka_bus["publish"](6)
    box: list = []
    seen = receiver(stop_after(box, 6))
    box.append(kafka_consumer())
    version_reads = consume_counting_version_reads(box)
    assert seen == [0, 1, 2, 3, 4, 5]
    assert len(version_reads) <= 2, version_reads  # one per batch read: the six may come in one or two


def test_the_redis_decoder_reads_what_openedx_events_reads() -> None:
    from openedx_events.event_bus.avro.deserializer import deserialize_bytes_to_event_data
    from openedx_events.event_bus.avro.serializer import serialize_event_data_to_bytes

    data = serialize_event_data_to_bytes({"course_passing_status": passing_status(7)}, COURSE_PASSING_STATUS_UPDATED)
    decoded = consumers.decode_event_data(COURSE_PASSING_STATUS_UPDATED.event_type, data)
    assert decoded == deserialize_bytes_to_event_data(data, COURSE_PASSING_STATUS_UPDATED)
    assert decoded["course_passing_status"].user.pii.username == "batch-7"


class SchemasOnly:
    """A schema registry that holds ``schemas`` by id."""

    def __init__(self, schemas: dict[int, Any]) -> None:
        self.schemas = schemas

    def get_schema(self, schema_id: int) -> Any:
        return self.schemas[schema_id]


def test_the_kafka_decoder_leaves_other_framings_and_schemas_to_the_library() -> None:
    from confluent_kafka.schema_registry import Rule, RuleSet, Schema, SchemaReference
    from openedx_events.event_bus.avro.serializer import AvroSignalSerializer

    event_type = COURSE_PASSING_STATUS_UPDATED.event_type
    plain = AvroSignalSerializer(COURSE_PASSING_STATUS_UPDATED).schema_string()
    ruled = RuleSet(migration_rules=None, domain_rules=[Rule("encrypt", None, "TRANSFORM", "WRITEREAD", "ENCRYPT",
                                                                   ["PII"], None, None, None, None, False)])
    registry = SchemasOnly({
        1: Schema(plain, "AVRO", references=[SchemaReference("other", "other-value", 1)]),
        2: Schema(plain, "AVRO", rule_set=ruled),
        3: Schema('{"type": "string"}', "JSON"),
    })
    consumers.kafka_writer_schema.cache_clear()
    assert consumers.decode_kafka_value(registry, event_type, b"\x01" + bytes(10)) is None  # another framing
    assert consumers.decode_kafka_value(registry, event_type, b"\x00\x00\x00\x00\x01") is None  # too short
    for schema_id in (1, 2, 3):
        framed = b"\x00" + schema_id.to_bytes(4, "big") + b"\x02"
        assert consumers.decode_kafka_value(registry, event_type, framed) is None


@pytest.mark.e2e
def test_the_kafka_decoder_reads_what_the_library_reads(kafka_bus) -> None:
    """A value as the service's producer writes it (Confluent framing, schema in the registry) decodes
    to what edx-event-bus-kafka's own deserializer gives."""
    from confluent_kafka.serialization import MessageField, SerializationContext
    from edx_event_bus_kafka.internal.config import get_schema_registry_client
    from edx_event_bus_kafka.internal.consumer import get_deserializer
    from edx_event_bus_kafka.internal.producer import get_serializers

    _key, serialize_value = get_serializers(COURSE_PASSING_STATUS_UPDATED, "course_passing_status.course.course_key")
    context = SerializationContext(kafka_bus["topic"], MessageField.VALUE)
    value = serialize_value({"course_passing_status": passing_status(7)}, context)
    registry = get_schema_registry_client()

    decoded = consumers.decode_kafka_value(registry, COURSE_PASSING_STATUS_UPDATED.event_type, value)
    assert decoded is not None
    assert decoded == get_deserializer(COURSE_PASSING_STATUS_UPDATED, registry)(value, context)
    assert decoded["course_passing_status"].user.pii.username == "batch-7"


@pytest.mark.e2e
def test_the_kafka_consumer_decodes_without_the_library_deserializer(kafka_bus, receiver, monkeypatch) -> None:
    box: list = []

    def refuse(self, message, signal):
        box[0]._shut_down()
        raise AssertionError("the library's deserializer was used")

    monkeypatch.setattr(DatabaseWaitingKafkaEventConsumer, "_deserialize_message_value", refuse)
    kafka_bus["publish"](3)
    seen = receiver(stop_after(box, 3))
    box.append(kafka_consumer())
    box[0].consume_indefinitely()
    assert seen == [0, 1, 2]
