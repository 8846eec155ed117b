"""Celery tasks that talk to badge providers, and the one place that queues them."""
from __future__ import annotations

import logging
import time

from celery import shared_task
from django.db import transaction

from badges import issuing, pacing

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=None, acks_late=True, name="badges.sync_badge_with_provider")
def sync_badge_with_provider(self, origin: str, badge_uuid: str, slot_at: float | None = None) -> str:
    """Issue or revoke one badge at its provider; transient failures retry with growing delays.

    The countdown is the delay the record keeps as ``next_attempt_at``; the sweep re-queues the
    badge only once that and its grace have passed, so it does not start a second chain beside
    this retry while the retry waits in a backlog.
    A paced account (``badges.pacing``) may give the task a slot ahead: a short wait is slept
    on, a longer one re-queues the task with the wait as countdown and the slot as ``slot_at``,
    so the next run uses that slot instead of reserving another.
    Run eagerly (no broker) a transient failure is not retried in-process, which would block
    the caller: the record stays ``no_response`` and the periodic sweep tries it again when due;
    a pacing wait too long to sleep on is likewise left to the sweep.
    """
    result = issuing.sync_with_provider(origin, badge_uuid, slot_at)
    if result.slot_at is not None and result.retry_in <= pacing.max_sleep():
        time.sleep(result.retry_in)
        result = issuing.sync_with_provider(origin, badge_uuid, result.slot_at)
    if result.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=result.retry_in, kwargs={"slot_at": result.slot_at})
    return "deferred" if result.slot_at is not None else result.action.value


def queue_retry(badge: issuing.AnyBadge) -> bool:
    """An operator's retry (admin action, ``retry_badge_issuing``): a new cycle, then the provider task.

    False when the record needs nothing from the provider or the broker refused the task.
    """
    with transaction.atomic():
        ready = issuing.prepare_retry(badge)
    return ready and enqueue_sync(issuing.kind_of(badge).origin, str(badge.uuid))


def enqueue_sync(origin: str, badge_uuid: str) -> bool:
    """Queue the provider task for a badge; False (logged) when the broker refuses, the sweep retries later."""
    try:
        sync_badge_with_provider.delay(origin, str(badge_uuid))
    except Exception:
        logger.exception("Could not queue the provider task for badge %s; the sweep will retry it.", badge_uuid)
        return False
    return True
