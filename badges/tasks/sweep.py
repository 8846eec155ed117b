"""The periodic sweep: finishes events, provider tasks and webhook events whose work was lost."""
from __future__ import annotations

import logging

from celery import shared_task

from badges import engine, issuing
from badges.tasks.issuing import enqueue_sync
from badges.tasks.webhooks import requeue_stale_webhook_events

logger = logging.getLogger(__name__)


@shared_task(name="badges.sweep")
def sweep() -> dict[str, int]:
    """Celery beat runs this every ``BADGES_SWEEP_INTERVAL_SECONDS`` (see :mod:`badges.schedule`)."""
    return run_sweep()


def run_sweep() -> dict[str, int]:
    """The periodic sweep (also ``manage.py sweep_badges``); returns what it did, for logs and tests."""
    done = {
        "events_applied": engine.finish_pending_events(),
        "badges_requeued": requeue_due_badges(),
        "webhook_events_requeued": requeue_stale_webhook_events(),
        "event_ids_pruned": engine.prune_received_events(),
    }
    logger.info("Badges sweep: %s", done)
    return done


def requeue_due_badges() -> int:
    """Queue the provider task of every record still waiting whose task looks lost (or ran eagerly)."""
    queued = 0
    for origin, badge_uuid in issuing.due_badges():
        queued += enqueue_sync(origin, badge_uuid)
    return queued
