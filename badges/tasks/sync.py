"""Scheduled template/group sync of every provider account (Celery beat; off by default).

Enable it with the setting ``BADGES_SCHEDULED_SYNC_HOURS`` (e.g. ``24``): :mod:`badges.schedule`
then adds a beat entry running :func:`sync_all_provider_accounts` that often. A Celery beat
process must run next to a worker.
"""
from __future__ import annotations

import logging

from celery import shared_task

from badges.conf import badges_enabled
from badges.models import AccredibleAPIConfig, CredlyOrganization
from badges.sync import sync_each

logger = logging.getLogger(__name__)

SYNC_ALL_TASK = "badges.sync_all_provider_accounts"


@shared_task(name=SYNC_ALL_TASK, ignore_result=True)
def sync_all_provider_accounts() -> dict[str, int]:
    """Sync every Credly organization and Accredible API config; returns succeeded/failed counts."""
    if not badges_enabled():
        logger.info("scheduled badge template sync skipped: BADGES_ENABLED is off")
        return {"succeeded": 0, "failed": 0}
    accounts = [*CredlyOrganization.objects.order_by("pk"), *AccredibleAPIConfig.objects.order_by("pk")]
    outcomes = sync_each(accounts)
    for outcome in outcomes:
        (logger.info if outcome.ok else logger.error)("scheduled sync: %s", outcome)
    failed = sum(not outcome.ok for outcome in outcomes)
    return {"succeeded": len(outcomes) - failed, "failed": failed}
