"""Celery task that fetches a recorded Credly webhook event back from Credly and applies it."""
from __future__ import annotations

import datetime
import logging

from celery import shared_task

from badges.webhooks import credly_events

logger = logging.getLogger(__name__)

#: A ``received`` event whose task (first one or scheduled retry) was due longer ago than this has lost
#: it, and is queued again.
STALE_AFTER = datetime.timedelta(minutes=10)


@shared_task(bind=True, max_retries=None, acks_late=True, name="badges.apply_credly_webhook_event")
def apply_credly_webhook_event(self, event_pk: int) -> str:
    """Fetch and apply one event; Credly being unavailable retries with the issuing tasks' growing delays.

    Run eagerly (no broker) a transient failure is not retried in-process, which would hold the
    webhook request: the event stays ``received`` and :func:`requeue_stale_webhook_events` tries
    it again later.
    """
    result = credly_events.process_webhook_event(event_pk)
    if result.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=result.retry_in)
    return result.status


def enqueue_credly_webhook_event(event_pk: int) -> bool:
    """Queue the task for a recorded event; False (logged) when the broker refuses: the requeue finds it later."""
    try:
        apply_credly_webhook_event.delay(event_pk)
    except Exception:
        logger.exception("Could not queue Credly webhook event %s; it will be queued again later.", event_pk)
        return False
    return True


def requeue_stale_webhook_events() -> int:
    """Queue again every event whose task was due more than :data:`STALE_AFTER` ago (part of the sweep).

    An event waiting for a scheduled retry (``next_attempt_at`` not yet that far past) is left
    to it: queuing it again would start a second retry chain.
    """
    queued = sum(enqueue_credly_webhook_event(pk) for pk in credly_events.stale_received_events(STALE_AFTER))
    if queued:
        logger.info("Queued %d unfinished Credly webhook event(s) again.", queued)
    return queued
