"""A second, minimal Credentials-style host for the badges app, unlike ``credentials_project``.

Its user model (``people.Person``) and its credential models (``records``) live under other
module paths and app labels, its ``TimeStampedModel`` declares its fields differently, and its
``UserCredential`` role is played by ``LearnerCredential``. The app's suite runs on it in CI
(``.ci/run``) to show that ``badges`` needs nothing but the host contract (docs/host-contract.rst).
"""
from tests.althost.celery import app as celery_app

__all__ = ["celery_app"]
