"""``BADGES_ENABLED`` / ``BADGES_CONFIG``: defaults, merged access and system checks.

An operator may set only part of ``BADGES_CONFIG``; everything else keeps its default. Code
reads configuration through :func:`badges_config` so it always sees the merged dict.
"""
from __future__ import annotations

import copy
import uuid
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.core import checks

COURSE_PASSING_STATUS_UPDATED = "org.openedx.learning.course.passing.status.updated.v1"
CCX_COURSE_PASSING_STATUS_UPDATED = "org.openedx.learning.ccx.course.passing.status.updated.v1"

DEFAULTS: dict[str, Any] = {
    "events": [COURSE_PASSING_STATUS_UPDATED, CCX_COURSE_PASSING_STATUS_UPDATED],
    "credly": {
        "CREDLY_BASE_URL": "https://credly.com/",
        "CREDLY_API_BASE_URL": "https://api.credly.com/v1/",
        "CREDLY_SANDBOX_BASE_URL": "https://sandbox.credly.com/",
        "CREDLY_SANDBOX_API_BASE_URL": "https://sandbox-api.credly.com/v1/",
        "USE_SANDBOX": False,
        "ORGANIZATIONS": {},
    },
    "accredible": {
        "ACCREDIBLE_BASE_URL": "https://dashboard.accredible.com/",
        "ACCREDIBLE_API_BASE_URL": "https://api.accredible.com/v1/",
        "ACCREDIBLE_SANDBOX_BASE_URL": "https://sandbox.dashboard.accredible.com/",
        "ACCREDIBLE_SANDBOX_API_BASE_URL": "https://sandbox.api.accredible.com/v1/",
        "USE_SANDBOX": False,
    },
    "rules": {
        "ignored_keypaths": [
            "user.id",
            "user.is_active",
            "user.pii.username",
            "user.pii.email",
            "user.pii.name",
            "course.display_name",
            "course.start",
            "course.end",
        ],
    },
}

URL_KEYS = {
    "credly": ("CREDLY_BASE_URL", "CREDLY_API_BASE_URL", "CREDLY_SANDBOX_BASE_URL", "CREDLY_SANDBOX_API_BASE_URL"),
    "accredible": (
        "ACCREDIBLE_BASE_URL",
        "ACCREDIBLE_API_BASE_URL",
        "ACCREDIBLE_SANDBOX_BASE_URL",
        "ACCREDIBLE_SANDBOX_API_BASE_URL",
    ),
}


def _merge(defaults: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(defaults)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def badges_enabled() -> bool:
    return bool(getattr(settings, "BADGES_ENABLED", False))


def badges_config() -> dict[str, Any]:
    """The operator's ``BADGES_CONFIG`` merged over the defaults."""
    overrides = getattr(settings, "BADGES_CONFIG", None) or {}
    if not isinstance(overrides, dict):
        return copy.deepcopy(DEFAULTS)
    return _merge(DEFAULTS, overrides)


def configured_event_types() -> list[str]:
    return list(badges_config()["events"])


def provider_urls(provider: str) -> dict[str, str]:
    """``{"base": ..., "api": ...}`` for ``credly``/``accredible``, honouring ``USE_SANDBOX``."""
    block = badges_config()[provider]
    prefix = provider.upper()
    sandbox = "_SANDBOX" if block["USE_SANDBOX"] else ""
    return {
        "base": block[f"{prefix}{sandbox}_BASE_URL"],
        "api": block[f"{prefix}{sandbox}_API_BASE_URL"],
    }


def preconfigured_credly_keys() -> dict[str, str]:
    """Organization UUID (lower-case string) -> API key, for keys kept in settings."""
    return {str(k).lower(): v for k, v in badges_config()["credly"]["ORGANIZATIONS"].items()}


def _error(msg: str, hint: str = "", id_: str = "badges.E001") -> checks.Error:
    return checks.Error(f"BADGES_CONFIG: {msg}", hint=hint or None, id=id_)


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _check_url(value: Any, where: str) -> list[checks.Error]:
    parsed = urlparse(value) if isinstance(value, str) else None
    if not parsed or parsed.scheme not in {"http", "https"} or not parsed.netloc:
        return [_error(f"{where} must be an http(s) URL, got {value!r}.", id_="badges.E004")]
    if not value.endswith("/"):
        return [_error(f"{where} must end with '/', got {value!r}.", id_="badges.E004")]
    return []


def _check_events(events: Any) -> list[checks.Error]:
    from badges.events import event_signal, payload_has_user_data

    if not isinstance(events, list | tuple) or not all(isinstance(e, str) for e in events):
        return [_error('"events" must be a list of event type strings.', id_="badges.E002")]
    errors = []
    for event_type in events:
        signal = event_signal(event_type)
        if signal is None:
            errors.append(_error(f'unknown event type "{event_type}" in "events".', id_="badges.E003"))
        elif not payload_has_user_data(signal):
            errors.append(
                _error(f'event type "{event_type}" carries no UserData, so it cannot name a learner.',
                       id_="badges.E003")
            )
    return errors


def check_badges_config(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """System check: reject a ``BADGES_CONFIG`` the service could not run with."""
    raw = getattr(settings, "BADGES_CONFIG", None)
    if raw is None:
        return []
    if not isinstance(raw, dict):
        return [_error(f"must be a dict, got {type(raw).__name__}.")]
    unknown = set(raw) - set(DEFAULTS)
    errors = []
    if unknown:
        errors.append(_error(f"unknown key(s) {sorted(unknown)}; expected {sorted(DEFAULTS)}."))
    for block in ("credly", "accredible", "rules"):
        if block in raw and not isinstance(raw[block], dict):
            errors.append(_error(f'"{block}" must be a dict.'))
    if errors:
        return errors
    config = badges_config()
    errors += _check_events(config["events"])
    for provider, keys in URL_KEYS.items():
        if not isinstance(config[provider]["USE_SANDBOX"], bool):
            errors.append(_error(f'"{provider}.USE_SANDBOX" must be True or False.', id_="badges.E005"))
        for key in keys:
            errors += _check_url(config[provider][key], f'"{provider}.{key}"')
    orgs = config["credly"]["ORGANIZATIONS"]
    if not isinstance(orgs, dict) or not all(_is_uuid(k) and isinstance(v, str) and v for k, v in orgs.items()):
        errors.append(_error('"credly.ORGANIZATIONS" must map organization UUID strings to API key strings.',
                             id_="badges.E006"))
    ignored = config["rules"].get("ignored_keypaths")
    if not isinstance(ignored, list | tuple) or not all(isinstance(p, str) for p in ignored):
        errors.append(_error('"rules.ignored_keypaths" must be a list of dotted path strings.', id_="badges.E007"))
    return errors
