"""Every ``BADGES_*`` setting: its default, its validation (system checks) and one object to read it.

Code reads settings only through :data:`badges_settings` (``badges_settings.ISSUE_RETRY_HOURS`` is
``settings.BADGES_ISSUE_RETRY_HOURS`` or its default), so a setting is declared once, in
:data:`SETTINGS`, and documented once, in ``docs/settings.rst`` (a test keeps the two in step).
An operator may set only part of ``BADGES_CONFIG``; :func:`badges_config` merges it over the
defaults so code always sees the whole dict.
"""
from __future__ import annotations

import copy
import dataclasses
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

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
        "ACCREDIBLE_CREDENTIAL_BASE_URL": "https://www.credential.net/",
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
        "ACCREDIBLE_CREDENTIAL_BASE_URL",
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


def _number(minimum: float, *, inclusive: bool = True) -> Callable[[Any], str | None]:
    """A validator for a number at or above (``inclusive``) or strictly above ``minimum``."""
    bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"

    def validate(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be a number {bound}, got {value!r}."
        if value < minimum or (not inclusive and value == minimum):
            return f"must be {bound}, got {value!r}."
        return None

    return validate


def _of_type(kind: type) -> Callable[[Any], str | None]:
    """A validator for the type only; the message leaves the value out, as it may hold a key."""

    def validate(value: Any) -> str | None:
        if not isinstance(value, kind):
            return f"must be a {kind.__name__}, got {type(value).__name__}."
        return None

    return validate


def _model_path(value: Any) -> str | None:
    """An import path (``package.module.Class``) of a Django model class, abstract or concrete."""
    from django.db import models

    if not isinstance(value, str) or "." not in value:
        return f"must be the import path of a model class, got {value!r}."
    try:
        found = import_string(value)
    except ImportError as exc:
        return f"cannot import {value!r}: {exc}."
    if not (isinstance(found, type) and issubclass(found, models.Model)):
        return f"{value!r} is not a Django model class."
    return None


def _throttle_rate(value: Any) -> str | None:
    """Empty (no throttling) or DRF's ``<requests>/<second|minute|hour|day>``."""
    if value == "":
        return None
    number, _, period = value.partition("/") if isinstance(value, str) else ("", "", "")
    if not number.isdigit() or int(number) < 1 or period[:1] not in {"s", "m", "h", "d"}:
        return f'must be "" or "<requests>/<second|minute|hour|day>", got {value!r}.'
    return None


@dataclasses.dataclass(frozen=True)
class Setting:
    """One ``BADGES_*`` setting: its name, its default and what a valid value is (``None``: valid)."""

    name: str
    default: Any
    validate: Callable[[Any], str | None]


# Every setting the app reads. Adding one is one line here and one row in docs/settings.rst.
SETTINGS = (
    Setting("BADGES_ENABLED", False, _of_type(bool)),
    Setting("BADGES_CONFIG", {}, _of_type(dict)),
    Setting("BADGES_CREDLY_WEBHOOK_SECRET", "", _of_type(str)),
    Setting("BADGES_EVENT_DEDUP_DAYS", 30, _number(0, inclusive=False)),
    Setting("BADGES_ISSUE_RETRY_HOURS", 72, _number(0)),
    Setting("BADGES_ISSUE_RETRY_FIRST_DELAY_SECONDS", 60, _number(0, inclusive=False)),
    Setting("BADGES_SWEEP_INTERVAL_SECONDS", 600, _number(0, inclusive=False)),
    Setting("BADGES_SWEEP_GRACE_SECONDS", 300, _number(0)),
    Setting("BADGES_SCHEDULED_SYNC_HOURS", 0, _number(0)),
    Setting("BADGES_CONSUMER_DB_RETRY_MAX_DELAY_SECONDS", 5, _number(0, inclusive=False)),
    Setting("BADGES_CONSUMER_BATCH_SIZE", 100, _number(1)),
    Setting("BADGES_CONSUMER_CONNECTION_CHECK_IDLE_SECONDS", 10, _number(0)),
    Setting("BADGES_RETIRED_USER_SALTS", [], _of_type(list)),
    Setting("BADGES_RETIRED_USERNAME_FORMAT", "retired__user_{}", _of_type(str)),
    Setting("BADGES_RETIRED_EMAIL_FORMAT", "retired__user_{}@retired.invalid", _of_type(str)),
    Setting("BADGES_RETIREMENT_SERVICE_USERNAMES", ["retirement_service_worker"], _of_type(list)),
    Setting("BADGES_FIELD_ENCRYPTION_KEYS", [], _of_type(list)),  # each key: badges.encryption.check_encryption_keys
    Setting("BADGES_PROVIDER_HTTP", {}, _of_type(dict)),  # its keys: badges.providers.http.check_retry_policy
    Setting("BADGES_PROVIDER_RATE_LIMITS", {"credly": {"per_second": 5, "burst": 5},
                                            "accredible": {"per_second": 6, "burst": 5}},
            _of_type(dict)),  # its entries: badges.pacing.check_rate_limits
    Setting("BADGES_PROVIDER_PACING_REDIS_URL", "", _of_type(str)),
    Setting("BADGES_PROVIDER_PACING_MAX_SLEEP_SECONDS", 1.0, _number(0)),
    Setting("BADGES_API_STAFF_PERMISSION", "", _of_type(str)),
    Setting("BADGES_API_LEARNER_THROTTLE_RATE", "120/minute", _throttle_rate),
    Setting("BADGES_HOST_TIMESTAMPED_MODEL", "django_extensions.db.models.TimeStampedModel", _model_path),
    Setting("BADGES_HOST_ABSTRACT_CREDENTIAL_MODEL", "credentials.apps.credentials.models.AbstractCredential",
            _model_path),
    Setting("BADGES_HOST_USER_CREDENTIAL_MODEL", "credentials.apps.credentials.models.UserCredential", _model_path),
)


class BadgesSettings:
    """``badges_settings.ENABLED`` is ``settings.BADGES_ENABLED`` when the host sets it, else the default.

    Values are cached per process and forgotten on ``setting_changed`` (``override_settings``).
    """

    def __init__(self, declared: tuple[Setting, ...]) -> None:
        self.declared = {setting.name: setting for setting in declared}
        self._values: dict[str, Any] = {}

    def __getattr__(self, attr: str) -> Any:
        name = f"BADGES_{attr}"
        if name not in self.declared:
            raise AttributeError(f"{name} is not a badges setting; declare it in badges.conf.SETTINGS.")
        if name not in self._values:
            self._values[name] = getattr(settings, name, self.declared[name].default)
        return self._values[name]

    def reset(self) -> None:
        self._values.clear()

    def errors(self) -> list[checks.Error]:
        """One error per setting the host set to an invalid value, naming the setting."""
        found = []
        for name, setting in self.declared.items():
            if hasattr(settings, name) and (problem := setting.validate(getattr(settings, name))):
                found.append(checks.Error(f"{name} {problem}", id="badges.E010"))
        return found


badges_settings = BadgesSettings(SETTINGS)


@receiver(setting_changed)
def _forget_changed_settings(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("BADGES_"):
        badges_settings.reset()


def badges_enabled() -> bool:
    return bool(badges_settings.ENABLED)


def badges_config() -> dict[str, Any]:
    """The operator's ``BADGES_CONFIG`` merged over the defaults; anything but a dict is refused."""
    overrides = badges_settings.CONFIG
    if not isinstance(overrides, dict):
        raise ImproperlyConfigured(f"BADGES_CONFIG must be a dict, got {type(overrides).__name__}.")
    return _merge(DEFAULTS, overrides)


def configured_event_types() -> list[str]:
    """``BADGES_CONFIG["events"]``; a string or anything but a list of strings is refused, not iterated."""
    events = badges_config()["events"]
    if not isinstance(events, list | tuple) or not all(isinstance(e, str) for e in events):
        raise ImproperlyConfigured(f'BADGES_CONFIG["events"] must be a list of event type strings, got {events!r}.')
    return list(events)


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
        return [_error(f'"events" must be a list of event type strings, got {events!r}.', id_="badges.E002")]
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
    """System check: reject settings, and a ``BADGES_CONFIG``, the service could not run with."""
    setting_errors: list[checks.CheckMessage] = badges_settings.errors()
    raw = badges_settings.CONFIG
    if not isinstance(raw, dict):
        return setting_errors  # BADGES_CONFIG's own error is among them
    return setting_errors + _config_errors(raw)


def _config_errors(raw: dict[str, Any]) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    unknown = set(raw) - set(DEFAULTS)
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


def check_credly_webhook_secret(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """System check: warn when the Credly webhook is served without its shared secret."""
    from django.urls import NoReverseMatch, reverse

    if not badges_settings.ENABLED or badges_settings.CREDLY_WEBHOOK_SECRET:
        return []
    try:
        path = reverse("badges:credly-webhook")
    except NoReverseMatch:
        return []
    return [checks.Warning(
        f"The Credly webhook at {path} accepts calls without a shared secret.",
        hint="Set BADGES_CREDLY_WEBHOOK_SECRET and give Credly the URL with ?token=<secret> (docs/webhooks.rst).",
        id="badges.W001",
    )]
