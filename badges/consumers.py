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
subclasses below do their waiting there: when the error says the database is unreachable, they
close the broken connection, back off (doubling up to ``BADGES_CONSUMER_DB_RETRY_MAX_DELAY_SECONDS``)
and handle the same message again, until it is handled or fails for another reason. Consumption
pauses meanwhile; the library acknowledges or commits the message only after that. There is
no time limit: an event is never given up because the database stayed away. Processing is
idempotent (``docs/event-bus.rst``), so handling a message again is always safe.

Point ``EVENT_BUS_CONSUMER`` at one of these classes (the host settings do by default).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from edx_event_bus_kafka import KafkaEventConsumer
from edx_event_bus_redis import RedisEventConsumer

from badges.conf import badges_settings
from badges.database import close_database_connections, database_unreachable

logger = logging.getLogger(__name__)

FIRST_RETRY_DELAY_SECONDS = 0.5


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


class DatabaseWaitingRedisEventConsumer(RedisEventConsumer):
    """``RedisEventConsumer`` that never acknowledges a message the database could not take."""

    def record_event_consuming_error(self, run_context: dict[str, Any], error: BaseException,
                                     maybe_message: Any) -> None:
        if maybe_message is not None and database_unreachable(error):
            error = handle_when_database_is_back(lambda: self.emit_signals_from_message(maybe_message), error,
                                                 f"Redis message {maybe_message.msg_id}")
            if error is None:
                return
        super().record_event_consuming_error(run_context, error, maybe_message)


class DatabaseWaitingKafkaEventConsumer(KafkaEventConsumer):
    """``KafkaEventConsumer`` that never commits a message the database could not take.

    The wait blocks the poll loop; librdkafka keeps the group membership alive from its own
    thread, but after ``max.poll.interval.ms`` (5 minutes) without a poll it leaves the group.
    The commit still follows the handling, so a longer outage can redeliver, not lose.
    """

    def record_event_consuming_error(self, run_context: dict[str, Any], error: BaseException,
                                     maybe_message: Any) -> None:
        if maybe_message is not None and database_unreachable(error):
            error = handle_when_database_is_back(lambda: self._handle_again(maybe_message), error,
                                                 f"Kafka message at offset {maybe_message.offset()}")
            if error is None:
                return
        super().record_event_consuming_error(run_context, error, maybe_message)

    def _handle_again(self, message: Any) -> None:
        """What the library's loop does after the reconnect: the value is still raw bytes when the
        reconnect itself failed."""
        signal = self.determine_signal(message)
        if isinstance(message.value(), bytes):
            message.set_value(self._deserialize_message_value(message, signal))
        self.emit_signals_from_message(message, signal)
