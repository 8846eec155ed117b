"""The app's Celery beat entries, installed by a host in one line; the webhook-secret warning."""
from __future__ import annotations

import importlib

from celery import Celery
from django.conf import settings
from django.test import override_settings

from badges.conf import check_credly_webhook_secret
from badges.schedule import install_beat_schedule


def fresh_app(**config) -> Celery:
    app = Celery("schedule-test", set_as_current=False)
    app.config_from_object(config)
    return app


def test_the_sweep_is_scheduled_at_its_interval_and_host_entries_are_kept():
    host_entry = {"task": "host.cleanup", "schedule": 60.0}
    app = fresh_app(beat_schedule={"host-cleanup": host_entry})
    with override_settings(BADGES_SWEEP_INTERVAL_SECONDS=120):
        install_beat_schedule(app)
        schedule = app.conf.beat_schedule
    assert schedule == {"host-cleanup": host_entry, "badges-sweep": {"task": "badges.sweep", "schedule": 120.0}}


def test_the_scheduled_sync_is_added_only_when_asked_for():
    with override_settings(BADGES_SCHEDULED_SYNC_HOURS=24):
        app = fresh_app()
        install_beat_schedule(app)
        entry = app.conf.beat_schedule["badges-sync-provider-accounts"]
    assert entry == {"task": "badges.sync_all_provider_accounts", "schedule": 24 * 3600.0}
    app = fresh_app()
    install_beat_schedule(app)
    assert set(app.conf.beat_schedule) == {"badges-sweep"}


def test_scheduled_tasks_exist_under_the_names_the_entries_use():
    from celery import current_app

    importlib.import_module("badges.tasks")
    app = fresh_app()
    install_beat_schedule(app)
    assert {entry["task"] for entry in app.conf.beat_schedule.values()} <= set(current_app.tasks)


def test_the_host_celery_app_has_the_entries():
    celery_module = importlib.import_module(settings.ROOT_URLCONF.rsplit(".", 1)[0] + ".celery")
    assert celery_module.app.conf.beat_schedule["badges-sweep"]["task"] == "badges.sweep"


def test_a_webhook_without_a_secret_is_warned_about():
    with override_settings(BADGES_ENABLED=True, BADGES_CREDLY_WEBHOOK_SECRET=""):
        warnings = check_credly_webhook_secret()
    assert [w.id for w in warnings] == ["badges.W001"] and "/badges/credly/webhook/" in warnings[0].msg
    with override_settings(BADGES_ENABLED=True, BADGES_CREDLY_WEBHOOK_SECRET="s3cret"):
        assert check_credly_webhook_secret() == []
    with override_settings(BADGES_ENABLED=False, BADGES_CREDLY_WEBHOOK_SECRET=""):
        assert check_credly_webhook_secret() == []
