"""The host contract: everything the badges app takes from the Credentials-style service it runs in.

No other module of the app imports the host. The base models are located by import path
(``BADGES_HOST_*`` settings, defaults naming Open edX Credentials' own classes) rather than through
the app registry, because the badge models subclass them while the registry is still loading.
The contract is documented in ``docs/host-contract.rst``:

* ``TimeStampedModel``: abstract, with ``created`` and ``modified`` date-times.
* ``AbstractCredential``: abstract, a ``TimeStampedModel`` with ``site`` (FK to ``sites.Site``) and
  ``is_active``; badge templates extend it.
* ``UserCredential``: concrete, a ``TimeStampedModel`` with ``credential_content_type`` /
  ``credential_id`` and the generic foreign key ``credential`` over them (what was awarded),
  ``username``, ``status`` (``awarded`` or ``revoked``) and a unique ``uuid``; badge records
  extend it by multi-table inheritance.
* The user model (``get_user_model()``) has ``username``, ``email``, ``full_name`` and
  ``lms_user_id``.
"""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core import checks
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django.utils.module_loading import import_string

from badges.conf import badges_settings

AWARDED = "awarded"
"""``UserCredential.status`` of a credential the learner holds."""
REVOKED = "revoked"
"""``UserCredential.status`` of a credential taken back."""


def _host_model(attr: str) -> type[models.Model]:
    path = getattr(badges_settings, attr)
    try:
        return import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"BADGES_{attr} = {path!r} cannot be imported ({exc}); see docs/host-contract.rst."
        ) from exc


TimeStampedModel = _host_model("HOST_TIMESTAMPED_MODEL")
AbstractCredential = _host_model("HOST_ABSTRACT_CREDENTIAL_MODEL")
UserCredential = _host_model("HOST_USER_CREDENTIAL_MODEL")


def user_model() -> type[models.Model]:
    """The host's user model (``AUTH_USER_MODEL``)."""
    return get_user_model()


def user_credential_label() -> str:
    """``app_label.ModelName`` of the host's ``UserCredential``, for the app's migrations."""
    return UserCredential._meta.label_lower


def user_credential_parent_link() -> str:
    """Name of the one-to-one field by which a badge record extends ``UserCredential``."""
    return f"{UserCredential._meta.model_name}_ptr"


def timestamped_fields() -> list[tuple[str, Any]]:
    """Fresh copies of the host's ``TimeStampedModel`` fields, as the app's migrations create them."""
    return [(field.name, field.clone()) for field in TimeStampedModel._meta.local_fields]


# What the app uses of each host model, checked at startup so a host that lacks one is told which.
REQUIRED_FIELDS = {
    "BADGES_HOST_TIMESTAMPED_MODEL": (lambda: TimeStampedModel, ("created", "modified")),
    "BADGES_HOST_ABSTRACT_CREDENTIAL_MODEL": (lambda: AbstractCredential, ("created", "modified", "site", "is_active")),
    "BADGES_HOST_USER_CREDENTIAL_MODEL": (lambda: UserCredential, (
        "created", "modified", "credential_content_type", "credential_id", "credential", "username", "status", "uuid")),
    "AUTH_USER_MODEL": (user_model, ("username", "email", "full_name", "lms_user_id", "is_active")),
}


def check_host_contract(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """System check: every field the app uses exists on the host's models."""
    errors = []
    for setting, (model_of, fields) in REQUIRED_FIELDS.items():
        model = model_of()
        for name in fields:
            try:
                model._meta.get_field(name)
            except FieldDoesNotExist:
                errors.append(checks.Error(
                    f"{model._meta.label} ({setting}) has no field {name!r}, which the badges app uses.",
                    hint="See docs/host-contract.rst.", id="badges.E020"))
    return errors
