"""The app's Celery beat entries, installed by a host in one line of its Celery module::

    from badges.schedule import install_beat_schedule
    install_beat_schedule(app)

Entries are built from the settings when Celery reads its configuration, so this module imports
no models and is safe to import before Django is set up.
"""
from __future__ import annotations

from typing import Any

from celery import Celery

from badges.conf import badges_settings


def beat_schedule() -> dict[str, dict[str, Any]]:
    """The sweep every ``BADGES_SWEEP_INTERVAL_SECONDS``; the provider sync every
    ``BADGES_SCHEDULED_SYNC_HOURS`` when that is above zero."""
    schedule = {"badges-sweep": {"task": "badges.sweep", "schedule": float(badges_settings.SWEEP_INTERVAL_SECONDS)}}
    if badges_settings.SCHEDULED_SYNC_HOURS > 0:
        schedule["badges-sync-provider-accounts"] = {
            "task": "badges.sync_all_provider_accounts",
            "schedule": float(badges_settings.SCHEDULED_SYNC_HOURS) * 3600,
        }
    return schedule


def install_beat_schedule(app: Celery) -> None:
    """Add :func:`beat_schedule` to ``app``'s beat schedule, keeping the host's own entries."""

    def add(**kwargs: Any) -> None:
        app.conf.beat_schedule = {**(app.conf.beat_schedule or {}), **beat_schedule()}

    if app.configured:
        add()
    else:
        app.on_after_configure.connect(add, weak=False)
