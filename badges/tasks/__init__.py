"""Celery tasks, one module per area; imported here so Celery's autodiscovery finds them all."""
from badges.tasks import issuing, sweep, sync, webhooks  # noqa: F401
