"""Celery tasks, one module per area; imported here so Celery's autodiscovery finds them all."""
