"""TEST TOOLING: the service's Kafka consumer with a session timeout short enough for tests.

``edx_event_bus_kafka.KafkaEventConsumer`` builds its librdkafka consumer with no way to pass
extra options, and a Tansu broker answers a group join only after about half the session timeout
(23 s with librdkafka's default of 45 s). Tests point ``EVENT_BUS_CONSUMER`` at this class and
set ``EVENT_BUS_KAFKA_TEST_SESSION_TIMEOUT_MS`` (default 6000: a join in about 3 s). Production
keeps the librdkafka defaults.
"""
from __future__ import annotations

from confluent_kafka import Consumer
from django.conf import settings
from edx_event_bus_kafka.internal.config import load_common_settings

from badges.consumers import DatabaseWaitingKafkaEventConsumer


class ShortSessionKafkaEventConsumer(DatabaseWaitingKafkaEventConsumer):
    def _create_consumer(self) -> Consumer:
        """The library's consumer settings plus a short ``session.timeout.ms``."""
        config = load_common_settings()
        config.update({
            "group.id": self.group_id,
            "enable.auto.commit": False,
            "session.timeout.ms": int(getattr(settings, "EVENT_BUS_KAFKA_TEST_SESSION_TIMEOUT_MS", 6000)),
            "heartbeat.interval.ms": 1000,
        })
        return Consumer(config)
