"""The public openedx-events badges emits: ``BADGE_AWARDED`` and ``BADGE_REVOKED``.

Called only after the transaction that awarded or revoked the badge has committed, so a
listener never hears of a badge the database does not hold.
"""
from __future__ import annotations

import logging

from openedx_events.learning.data import BadgeData
from openedx_events.learning.signals import BADGE_AWARDED, BADGE_REVOKED

logger = logging.getLogger(__name__)


def emit_badge_awarded(badge: BadgeData) -> None:
    _emit(BADGE_AWARDED, badge)


def emit_badge_revoked(badge: BadgeData) -> None:
    _emit(BADGE_REVOKED, badge)


def _emit(signal, badge: BadgeData) -> None:
    """Send robustly: a failing listener is logged by openedx-events and cannot undo the badge."""
    try:
        signal.send_event(badge=badge)
    except Exception:
        logger.exception("Could not emit %s for badge %s.", signal.event_type, badge.uuid)
