"""A small Credentials-style host service for the ``badges`` app."""
from credentials_project.celery import app as celery_app

__all__ = ["celery_app"]
