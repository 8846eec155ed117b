"""The receiver connected to each configured public event; it hands the event to the engine."""
from __future__ import annotations

import logging
from typing import Any

from openedx_events.tooling import OpenEdxPublicSignal

from badges import engine
from badges.conf import configured_event_types
from badges.events import event_signal

logger = logging.getLogger(__name__)


def receive_event(sender: Any, signal: OpenEdxPublicSignal, **kwargs: Any) -> None:
    """Called by ``send_event`` in this process and by ``consume_events`` for bus messages alike.

    A database error is raised, not waited out here: the bus libraries catch receiver errors and
    acknowledge the message regardless, so the wait for an unreachable database lives in the
    consumers of :mod:`badges.consumers`, which keep the message until it was handled.
    """
    engine.handle_event(signal.event_type, kwargs)


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
