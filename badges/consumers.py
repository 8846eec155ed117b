"""Event-bus consumers that wait for an unreachable database instead of dropping the event.

Why these exist: ``edx_event_bus_redis.RedisEventConsumer`` and
``edx_event_bus_kafka.KafkaEventConsumer`` handle a message in the same way. They call
openedx-events' ``prepare_for_new_work_cycle()`` (which reconnects to the database when the
connection is unusable), then send the event to the receivers with ``send_robust`` and turn any
receiver exception into a ``ReceiverError``. Whatever is raised is passed to
``record_event_consuming_error`` and then the message is acknowledged anyway: in a ``finally``
on Redis, by ``commit(message=...)`` on Kafka. While the database is down the reconnect raises
before our receiver even runs, and a receiver that raised has already been caught, so no
waiting inside the receiver can keep the message on the bus.

Both libraries call ``record_event_consuming_error`` before they acknowledge or commit, so the
subclasses below do their waiting there (in :class:`BatchedConsumerLoop`, which they share): when
the error says the database is unreachable, they close the broken connection, back off (doubling up
to ``BADGES_CONSUMER_DB_RETRY_MAX_DELAY_SECONDS``) and handle the same message again, until it is
handled or fails for another reason. Consumption pauses meanwhile; the message is acknowledged or
committed only after that. There is no time limit: an event is never given up because the database
stayed away. Processing is idempotent (``docs/event-bus.rst``), so handling a message again is
always safe.

Both subclasses also run their own read loop (the same shared class; each bus supplies its read,
its fatal-error test and its acknowledgement), which otherwise does what the library's does:
they read up to ``BADGES_CONSUMER_BATCH_SIZE`` messages at a time (one ``XREADGROUP ... COUNT n``;
one ``consume(n)``) and acknowledge or commit them together once every one of them was handled
(one ``XACK``; one commit of the next offset per partition), so a replayed backlog does not pay two
broker round trips per message. A message is acknowledged only after it was handled: when the loop
stops in the middle of a batch (Ctrl-C, a fatal broker error), only the messages handled so far
are acknowledged and the rest are delivered again. The library checks the database connection
(``SELECT 1``) before every message; these loops check it only before the first message, after a
message that failed and after the connection sat idle for ``BADGES_CONSUMER_CONNECTION_CHECK_IDLE_SECONDS``.
A connection that broke in between fails the next message with a database error, which the wait
above handles. The messages of a batch share one configuration check
(:func:`badges.rulebook.one_configuration_check`): one version query per batch, not per message.
The libraries log two INFO lines per message (received, processed); these loops log one INFO line
per batch and the per-message lines at DEBUG. Warnings and errors are unchanged.

Point ``EVENT_BUS_CONSUMER`` at one of these classes (the host settings do by default).
"""
from __future__ import annotations

import functools
import io
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import fastavro
from confluent_kafka import TopicPartition
from django.conf import settings
from edx_django_utils.cache import RequestCache
from edx_event_bus_kafka import KafkaEventConsumer
from edx_event_bus_kafka.internal import consumer as kafka_library
from edx_event_bus_kafka.internal.config import get_full_topic
from edx_event_bus_kafka.internal.utils import _get_metadata_from_headers
from edx_event_bus_redis import RedisEventConsumer
from edx_event_bus_redis.internal import consumer as redis_library
from edx_event_bus_redis.internal.message import RedisMessage
from edx_event_bus_redis.internal.utils import Timeout
from openedx_events.event_bus.avro.deserializer import AvroSignalDeserializer
from openedx_events.tooling import OpenEdxPublicSignal, prepare_for_new_work_cycle

from badges.conf import badges_settings
from badges.database import close_database_connections, database_unreachable
from badges.rulebook import one_configuration_check

logger = logging.getLogger(__name__)

FIRST_RETRY_DELAY_SECONDS = 0.5
PENDING_READ_TIMEOUT_SECONDS = 5  # the library's bound on the Redis calls that take no timeout


def handle_when_database_is_back(handle: Callable[[], None], error: BaseException, what: str) -> BaseException | None:
    """Call ``handle`` again while the last ``error`` says the database is unreachable.

    Returns None once ``handle`` succeeded, or the error of another kind it ended with.
    """
    max_delay = float(badges_settings.CONSUMER_DB_RETRY_MAX_DELAY_SECONDS)
    delay = FIRST_RETRY_DELAY_SECONDS
    attempts = 0
    while database_unreachable(error):
        attempts += 1
        logger.warning("Database unavailable while handling %s (%r); handling it again in %.1fs (attempt %d).",
                       what, error, delay, attempts)
        close_database_connections()
        time.sleep(delay)
        delay = min(delay * 2, max_delay)
        try:
            handle()
        except Exception as exc:  # the same breadth as the libraries' own loop
            error = exc
        else:
            logger.info("Handled %s after %d attempt(s) while the database was unavailable.", what, attempts)
            return None
    return error


class ConnectionCheck:
    """When to check the database connection before a message.

    openedx-events' ``prepare_for_new_work_cycle()`` runs ``SELECT 1`` on every call: a round trip
    per message. A connection in use a moment ago is almost always still good, and one that is
    not fails the message with a database error that the consumer waits out and handles again.
    So the check runs before the first message, after a failed one and after an idle spell; the
    request cache is cleared before every message, as the library does.
    """

    def __init__(self, idle_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_seconds = idle_seconds
        self.clock = clock
        self.needed = True
        self.last_used = 0.0

    def before_message(self) -> None:
        if self.needed or self.clock() - self.last_used > self.idle_seconds:
            prepare_for_new_work_cycle()
        else:
            RequestCache.clear_all_namespaces()
        self.needed = False

    def after_message(self, failed: bool) -> None:
        self.last_used = self.clock()
        self.needed = self.needed or failed


def connection_check() -> ConnectionCheck:
    return ConnectionCheck(float(badges_settings.CONSUMER_CONNECTION_CHECK_IDLE_SECONDS))


def batch_size() -> int:
    return int(badges_settings.CONSUMER_BATCH_SIZE)


class TooManyConsecutiveErrors(Exception):
    """The libraries' ``*_CONSUMER_CONSECUTIVE_ERRORS_LIMIT`` was reached: exit so a process manager restarts us."""


def check_consecutive_errors(limit: int | None, errors: int) -> None:
    if limit and errors >= limit:
        raise TooManyConsecutiveErrors(f"Too many consecutive errors, exiting ({errors} in a row)")


@functools.cache
def avro_decoder(event_type: str) -> tuple[AvroSignalDeserializer, Any]:
    """The deserializer of an event type and its parsed Avro schema, built once per process.

    openedx-events' ``deserialize_bytes_to_event_data`` builds both from the signal for every message."""
    deserializer = AvroSignalDeserializer(OpenEdxPublicSignal.get_signal_by_type(event_type))
    return deserializer, fastavro.parse_schema(deserializer.schema)


def decode_event_data(event_type: str, data: bytes, writer_schema: Any = None) -> dict[str, Any]:
    """What ``deserialize_bytes_to_event_data`` returns, from the decoder built once per event type.

    ``writer_schema``: the parsed schema ``data`` was written with, when it may differ from this
    process's own (Kafka's registry); the data is then resolved to this process's schema.
    """
    deserializer, schema = avro_decoder(event_type)
    if writer_schema is None:
        return deserializer.from_dict(fastavro.schemaless_reader(io.BytesIO(data), schema))
    return deserializer.from_dict(fastavro.schemaless_reader(io.BytesIO(data), writer_schema, schema))


#: The first byte of a value in the Confluent Schema Registry framing (then a 4-byte schema id).
CONFLUENT_MAGIC_BYTE = 0


@functools.lru_cache(maxsize=256)
def kafka_writer_schema(registry: Any, schema_id: int) -> Any:
    """The parsed Avro schema a Kafka value was written with, read from the registry once per id;
    None when the registry's schema is not plain Avro (references, data-contract rules), which only
    the library's deserializer applies."""
    schema = registry.get_schema(schema_id)
    rules = schema.rule_set
    if (schema.schema_type or "AVRO") != "AVRO" or schema.references or (rules and (
            rules.domain_rules or rules.migration_rules or rules.encoding_rules)):
        return None
    return fastavro.parse_schema(json.loads(schema.schema_str))


def decode_kafka_value(registry: Any, event_type: str, value: bytes) -> dict[str, Any] | None:
    """What the Kafka library's Avro deserializer returns for ``value``, without its per-message work.

    confluent-kafka's deserializer expands the reader schema and collects its field tags for every
    message (for data-contract rules this service's schemas do not use): about a sixth of a Kafka
    consumer's busy time in a profile on PostgreSQL. This reads the writer's schema id from the
    value's framing, decodes with that schema (from the registry, once per id) resolved to this
    process's own, as that deserializer does. None when the value is framed otherwise or its schema
    is not plain Avro: the library's deserializer then handles it.
    """
    if len(value) <= 5 or value[0] != CONFLUENT_MAGIC_BYTE:
        return None
    writer = kafka_writer_schema(registry, int.from_bytes(value[1:5], "big"))
    if writer is None:
        return None
    return decode_event_data(event_type, value[5:], writer)


class BatchedConsumerLoop:
    """The read loop and the database wait both consumers share (see the module docstring); each bus
    supplies its read, its handling of one message, its fatal-error test and its acknowledgement."""

    #: Seconds to wait after a failed read (each library's ``POLL_FAILURE_SLEEP``).
    poll_failure_sleep: float

    def _read_batch(self) -> Sequence[Any]:
        raise NotImplementedError

    def _parse(self, raw: Any) -> Any:
        """The message of a read entry (what errors and monitoring are reported with)."""
        return raw

    def _emit(self, message: Any) -> None:
        """Send the message's event to the receivers."""
        raise NotImplementedError

    def _is_fatal(self, error: BaseException, message: Any) -> bool:
        raise NotImplementedError

    def _acknowledge(self, handled: Sequence[Any]) -> None:
        """Acknowledge or commit the read entries ``handled``, all handled (one broker call)."""
        raise NotImplementedError

    def _describe(self, message: Any) -> str:
        """The message, for the log lines of the database wait."""
        raise NotImplementedError

    def record_event_consuming_error(self, run_context: dict[str, Any], error: BaseException,
                                     maybe_message: Any) -> None:
        """The library's error report, after waiting out an unreachable database: the message is then
        handled again until it is handled or fails for another reason (see the module docstring)."""
        if maybe_message is not None and database_unreachable(error):
            error = handle_when_database_is_back(lambda: self._emit(maybe_message), error,
                                                 self._describe(maybe_message))
            if error is None:
                return
        super().record_event_consuming_error(run_context, error, maybe_message)

    def _run_batches(self, run_context: dict[str, Any], limit: int | None) -> None:
        """Read, handle and acknowledge batches until the consumer is shut down."""
        check = connection_check()
        logger.info("Running consumer for %r, %d messages at a time", run_context, batch_size())
        errors = 0
        while not self._shut_down_loop:
            check_consecutive_errors(limit, errors)
            try:
                entries = self._read_batch()
            except Exception as error:  # the same breadth as the libraries' loops
                errors += 1
                self.record_event_consuming_error(run_context, error, None)
                if self._is_fatal(error, None):
                    raise
                time.sleep(self.poll_failure_sleep)
                continue
            with one_configuration_check():
                errors = self._handle_batch(entries, run_context, check, limit, errors)

    def _handle_batch(self, entries: Sequence[Any], run_context: dict[str, Any], check: ConnectionCheck,
                      limit: int | None, errors: int) -> int:
        """Handle ``entries`` in order; acknowledge the handled ones together, whatever stops the batch."""
        handled: list[Any] = []
        try:
            for entry in entries:
                check_consecutive_errors(limit, errors)
                message = None
                try:
                    message = self._parse(entry)
                    check.before_message()
                    self._emit(message)
                except Exception as error:  # the same breadth as the libraries' loops
                    errors += 1
                    check.after_message(failed=True)
                    self.record_event_consuming_error(run_context, error, message)
                    if self._is_fatal(error, message):
                        raise
                else:
                    errors = 0
                    check.after_message(failed=False)
                    self._add_message_monitoring(run_context=run_context, message=message)
                handled.append(entry)
        finally:
            if handled:
                self._acknowledge(handled)
        return errors


class DatabaseWaitingRedisEventConsumer(BatchedConsumerLoop, RedisEventConsumer):
    """``RedisEventConsumer`` that never acknowledges a message the database could not take, and
    reads and acknowledges in batches."""

    poll_failure_sleep = redis_library.POLL_FAILURE_SLEEP

    def _consume_indefinitely(self) -> None:
        """The library's loop, a batch of stream entries at a time (see the module docstring)."""
        if not redis_library.REDIS_CONSUMERS_ENABLED.is_enabled():
            logger.error("Redis consumers not enabled, exiting.")
            return
        run_context = {"full_topic": self.full_topic, "consumer_group": self.group_id,
                       "consumer_name": self.consumer_name}
        try:
            self._run_batches(run_context, getattr(settings, "EVENT_BUS_REDIS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT", None))
        finally:
            self.db.close()

    def _read_batch(self) -> list[tuple]:
        """This consumer's pending entries first (read before a restart, never acknowledged), then new ones."""
        if self.has_pending_msgs:
            if self.claim_msgs_older_than is not None:
                with Timeout(PENDING_READ_TIMEOUT_SECONDS):
                    self.consumer.autoclaim(self.consumer_name, min_idle_time=self.claim_msgs_older_than,
                                            count=batch_size())
            with Timeout(PENDING_READ_TIMEOUT_SECONDS):
                entries = self.consumer.read(count=batch_size(), last_id="0")
            if not entries:
                self.has_pending_msgs = False
                self.claim_msgs_older_than = None
            return entries
        return self.consumer.read(count=batch_size(), block=int(redis_library.CONSUMER_POLL_TIMEOUT * 1000))

    def _parse(self, raw: tuple) -> RedisMessage:
        return RedisMessage.parse(raw, self.full_topic)

    def _emit(self, message: RedisMessage) -> None:
        self.emit_signals_from_message(message)

    def _is_fatal(self, error: BaseException, message: Any) -> bool:
        return self._is_fatal_redis_error(error=error)

    def _describe(self, message: RedisMessage) -> str:
        return f"Redis message {message.msg_id}"

    def _acknowledge(self, handled: Sequence[tuple]) -> None:
        ids = [entry[0] for entry in handled]
        self.consumer.ack(*ids)
        logger.info("Handled and acknowledged %d message(s) from %s, ids %s to %s.", len(ids), self.full_topic,
                    ids[0].decode(), ids[-1].decode())

    def emit_signals_from_message(self, msg: RedisMessage) -> None:
        """The library's, with its two INFO lines per message at DEBUG (one INFO line per batch instead)
        and the Avro decoder built once per event type."""
        logger.debug("Message received from Redis: topic=%s, message_id=%s, redis_msg_id=%s", msg.topic,
                     msg.event_metadata.id, msg.msg_id)
        signal = OpenEdxPublicSignal.get_signal_by_type(msg.event_metadata.event_type)
        event_data = decode_event_data(signal.event_type, msg.event_data)
        send_results = signal.send_event_with_custom_metadata(msg.event_metadata, **event_data)
        self._check_receiver_results(send_results, signal)


class DatabaseWaitingKafkaEventConsumer(BatchedConsumerLoop, KafkaEventConsumer):
    """``KafkaEventConsumer`` that never commits a message the database could not take, and
    consumes and commits in batches.

    The wait blocks the poll loop; librdkafka keeps the group membership alive from its own
    thread, but after ``max.poll.interval.ms`` (5 minutes) without a poll it leaves the group.
    The commit still follows the handling, so a longer outage can redeliver, not lose.
    """

    poll_failure_sleep = kafka_library.POLL_FAILURE_SLEEP

    def _consume_indefinitely(self) -> None:
        """The library's loop, a batch of messages at a time (see the module docstring)."""
        if not kafka_library.KAFKA_CONSUMERS_ENABLED.is_enabled():
            logger.error("Kafka consumers not enabled, exiting.")
            return
        try:
            full_topic = get_full_topic(self.topic)
            self.consumer.subscribe([full_topic])
            self._run_batches({"full_topic": full_topic, "consumer_group": self.group_id},
                              getattr(settings, "EVENT_BUS_KAFKA_CONSUMER_CONSECUTIVE_ERRORS_LIMIT", None))
        finally:
            self.consumer.close()

    def _read_batch(self) -> list[Any]:
        return self.consumer.consume(num_messages=batch_size(), timeout=kafka_library.CONSUMER_POLL_TIMEOUT)

    def _emit(self, message: Any) -> None:
        """Decode the value (unless an earlier attempt did, before the database failed it) and send it."""
        signal = self.determine_signal(message)
        if not isinstance(message.value(), dict):
            message.set_value(self._decoded_value(message, signal))
        self.emit_signals_from_message(message, signal)

    def _decoded_value(self, message: Any, signal: OpenEdxPublicSignal) -> dict[str, Any]:
        """The event data of the message (``signal`` is the one its event type names): by
        :func:`decode_kafka_value` where it can, else by the library."""
        value = message.value()
        if isinstance(value, bytes):
            decoded = decode_kafka_value(self.schema_registry_client, signal.event_type, value)
            if decoded is not None:
                return decoded
        return self._deserialize_message_value(message, signal)

    def _describe(self, message: Any) -> str:
        return f"Kafka message at offset {message.offset()}"

    def _is_fatal(self, error: BaseException, message: Any) -> bool:
        _, kafka_error = self._get_kafka_message_and_error(message=message, error=error)
        return bool(kafka_error and kafka_error.fatal())

    def _acknowledge(self, handled: Sequence[Any]) -> None:
        """Commit the offset after the last handled message of each partition (an errored message has none)."""
        next_offsets = {(message.topic(), message.partition()): message.offset() + 1
                        for message in handled if message.error() is None}
        if not next_offsets:
            return
        self.consumer.commit(offsets=[TopicPartition(topic, partition, offset)
                                      for (topic, partition), offset in next_offsets.items()])
        logger.info("Handled %d message(s); committing the next offsets %s.", len(handled),
                    ", ".join(f"{topic}[{partition}]={offset}"
                              for (topic, partition), offset in sorted(next_offsets.items())))

    def emit_signals_from_message(self, msg: Any, signal: OpenEdxPublicSignal) -> None:
        """The library's, with its two INFO lines per message at DEBUG (one INFO line per batch instead)."""
        logger.debug("Message received from Kafka: topic=%s, partition=%s, offset=%s", msg.topic(), msg.partition(),
                     msg.offset())
        if msg.error() is not None:
            raise kafka_library.UnusableMessageError(f"Polled message had error object: {msg.error()!r}")
        message_type = self._get_event_type_from_message(msg)
        if signal.event_type != message_type:
            raise kafka_library.UnusableMessageError(
                f"Message event type {message_type} does not match signal {signal.event_type}")
        try:
            metadata = _get_metadata_from_headers(msg.headers())
        except Exception as error:
            raise kafka_library.UnusableMessageError(f"Error determining metadata from message headers: {error}") \
                from error
        send_results = signal.send_event_with_custom_metadata(metadata, **msg.value())
        self._check_receiver_results(send_results, signal)
