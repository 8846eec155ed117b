"""The public openedx-events badges emits: ``BADGE_AWARDED`` and ``BADGE_REVOKED``.

Called only after the transaction that awarded or revoked the badge has committed, so a
listener never hears of a badge the database does not hold.
"""
from __future__ import annotations

import logging

from openedx_events.event_bus import get_producer
from openedx_events.learning.data import BadgeData
from openedx_events.learning.signals import BADGE_AWARDED, BADGE_REVOKED

logger = logging.getLogger(__name__)


def emit_badge_awarded(badge: BadgeData) -> None:
    _emit(BADGE_AWARDED, badge)


def emit_badge_revoked(badge: BadgeData) -> None:
    _emit(BADGE_REVOKED, badge)


def flush_event_bus_producer(timeout: float = 10.0) -> None:
    """Deliver badge events still queued in this process's event-bus producer before it exits.

    The Kafka producer sends in the background; without a flush, a consumer stopped right after
    an award would drop its ``BADGE_AWARDED`` message. Bounded, so a broker that is down cannot
    hold up the shutdown for ever; a producer never created is left alone.
    """
    if not get_producer.cache_info().currsize:
        return
    producer = get_producer()
    client = getattr(producer, "producer", None)  # confluent_kafka.Producer of edx-event-bus-kafka
    if client is not None and hasattr(client, "flush"):
        remaining = client.flush(timeout)
        if remaining:
            logger.error("%d badge event(s) were not delivered to the event bus before shutdown.", remaining)


def _emit(signal, badge: BadgeData) -> None:
    """Send robustly: a failing listener is logged by openedx-events and cannot undo the badge."""
    try:
        signal.send_event(badge=badge)
    except Exception:
        logger.exception("Could not emit %s for badge %s.", signal.event_type, badge.uuid)
