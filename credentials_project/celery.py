"""Celery application of the host service.

Without ``CELERY_BROKER_URL`` tasks run eagerly in-process (see settings), so the embedded
default needs no broker.
"""
import os

from celery import Celery

from badges.schedule import install_beat_schedule

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "credentials_project.settings")

app = Celery("credentials_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
install_beat_schedule(app)
