"""The second host's Celery app: tasks run eagerly in-process, with the app's beat entries installed."""
from celery import Celery

from badges.schedule import install_beat_schedule

app = Celery("althost")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
install_beat_schedule(app)
