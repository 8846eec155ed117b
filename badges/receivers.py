"""The receiver connected to each configured public event; it hands the event to the engine."""
from __future__ import annotations

import logging
import time
from typing import Any

from django.db import InterfaceError, OperationalError, close_old_connections
from openedx_events.tooling import OpenEdxPublicSignal

from badges import engine
from badges.conf import badges_settings, configured_event_types
from badges.events import event_signal

logger = logging.getLogger(__name__)


def receive_event(sender: Any, signal: OpenEdxPublicSignal, **kwargs: Any) -> None:
    """Called by ``send_event`` in this process and by ``consume_events`` for bus messages alike.

    The bus consumer acknowledges a message once this returns, even after an exception, so a
    database that is unreachable must not turn into a lost event: the receiver waits for it,
    backing off, for up to ``BADGES_RECEIVER_DB_RETRY_SECONDS``. Consumption pauses meanwhile and
    the events stay on the bus. Processing is idempotent, so trying again is always safe.
    """
    deadline = time.monotonic() + badges_settings.RECEIVER_DB_RETRY_SECONDS
    delay = 0.5
    while True:
        try:
            engine.handle_event(signal.event_type, kwargs)
            return
        except (OperationalError, InterfaceError) as exc:
            if time.monotonic() + delay > deadline:
                raise
            logger.warning("Database unavailable while handling %s (%s); trying again in %.1fs.",
                           signal.event_type, exc, delay)
            close_old_connections()  # drop the broken connection so the next attempt opens a fresh one
            time.sleep(delay)
            delay = min(delay * 2, 30.0)


def dispatch_uid(event_type: str) -> str:
    return f"badges.receive_event:{event_type}"


def connect_receivers(event_types: list[str] | None = None) -> list[str]:
    """Connect :func:`receive_event` to each configured event type (only those); returns the connected types."""
    connected = []
    for event_type in configured_event_types() if event_types is None else event_types:
        signal = event_signal(event_type)
        if signal is None:
            logger.error("Badges: unknown event type %r in BADGES_CONFIG['events']; not listening to it.", event_type)
            continue
        signal.connect(receive_event, dispatch_uid=dispatch_uid(event_type))
        connected.append(event_type)
    return connected


def disconnect_receivers(event_types: list[str]) -> None:
    for event_type in event_types:
        signal = event_signal(event_type)
        if signal is not None:
            signal.disconnect(receive_event, dispatch_uid=dispatch_uid(event_type))
