"""Configuration mistakes stop the service with an error naming the setting; none is silently accepted."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from badges.conf import COURSE_PASSING_STATUS_UPDATED, check_badges_config
from badges.providers.http import check_retry_policy
from badges.receivers import connect_receivers

ROOT = Path(__file__).resolve().parent.parent


def demo_host(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter on the demo host's settings with ``env`` added."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("BADGES_", "DATABASE_URL"))}
    environ.update(env, DJANGO_SETTINGS_MODULE="credentials_project.settings")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True,
                          timeout=120, check=False)


CHECK = "import django; django.setup(); from django.core.management import call_command; call_command('check')"


def test_invalid_json_in_badges_config_names_the_setting_and_not_its_keys():
    config = '{"credly": {"ORGANIZATIONS": {"a1b2c3d4-0000-4000-8000-000000000001": "credly-key-in-env"}}'
    result = demo_host(CHECK, BADGES_CONFIG=config)
    assert result.returncode != 0
    assert "ImproperlyConfigured: BADGES_CONFIG is not valid JSON: Expecting" in result.stderr
    assert "credly-key-in-env" not in result.stderr


def test_badges_config_null_is_an_error_not_the_defaults():
    result = demo_host(CHECK, BADGES_CONFIG="null")
    assert result.returncode != 0
    assert "BADGES_CONFIG must be a dict, got NoneType" in result.stderr


def test_a_number_setting_that_is_not_a_number_names_the_setting():
    result = demo_host(CHECK, BADGES_ISSUE_RETRY_HOURS="three days")
    assert result.returncode != 0
    assert "BADGES_ISSUE_RETRY_HOURS must be a number, got 'three days'" in result.stderr


def test_empty_database_url_means_the_embedded_default():
    code = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    result = demo_host(code, DATABASE_URL="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3"


def test_events_given_as_one_string_are_refused_not_read_letter_by_letter(caplog):
    with override_settings(BADGES_CONFIG={"events": COURSE_PASSING_STATUS_UPDATED}):
        errors = [e for e in check_badges_config() if e.id == "badges.E002"]
        assert len(errors) == 1 and COURSE_PASSING_STATUS_UPDATED in errors[0].msg
        with pytest.raises(ImproperlyConfigured, match=r'BADGES_CONFIG\["events"\] must be a list'):
            connect_receivers()
    assert not [r for r in caplog.records if "unknown event type" in r.getMessage()]


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("BADGES_ISSUE_RETRY_HOURS", -1, "must be >= 0, got -1"),
        ("BADGES_SWEEP_INTERVAL_SECONDS", 0, "must be > 0, got 0"),
        ("BADGES_EVENT_DEDUP_DAYS", 0, "must be > 0, got 0"),
        ("BADGES_ISSUE_RETRY_FIRST_DELAY_SECONDS", -5, "must be > 0"),
        ("BADGES_SWEEP_GRACE_SECONDS", "300", "must be a number"),
        ("BADGES_SCHEDULED_SYNC_HOURS", -24, "must be >= 0"),
        ("BADGES_CONSUMER_DB_RETRY_MAX_DELAY_SECONDS", True, "must be a number"),
        ("BADGES_ENABLED", "yes", "must be a bool"),
        ("BADGES_CREDLY_WEBHOOK_SECRET", b"bytes-secret", "must be a str, got bytes."),
        ("BADGES_PROVIDER_HTTP", [], "must be a dict"),
        ("BADGES_HOST_USER_CREDENTIAL_MODEL", "nowhere.models.UserCredential", "cannot import"),
        ("BADGES_HOST_TIMESTAMPED_MODEL", "badges.conf.Setting", "is not a Django model class"),
    ],
)
def test_out_of_range_settings_are_refused_by_the_checks(name, value, fragment):
    with override_settings(**{name: value}):
        errors = [e.msg for e in check_badges_config() if e.id == "badges.E010"]
    assert any(msg.startswith(name) and fragment in msg for msg in errors), errors


@pytest.mark.parametrize(
    ("value", "fragment"),
    [({"retries": 3}, "unknown key 'retries'"), ({"attempts": -1}, "['attempts'] must be a number >= 0, got -1")],
)
def test_provider_http_overrides_name_retry_policy_fields(value, fragment):
    with override_settings(BADGES_PROVIDER_HTTP=value):
        errors = [e.msg for e in check_retry_policy()]
    assert any(msg.startswith("BADGES_PROVIDER_HTTP") and fragment in msg for msg in errors), errors


def test_valid_settings_pass():
    with override_settings(BADGES_ISSUE_RETRY_HOURS=0, BADGES_SWEEP_INTERVAL_SECONDS=0.5,
                           BADGES_PROVIDER_HTTP={"attempts": 1, "read_timeout": 2.5}):
        assert check_badges_config() == [] and check_retry_policy() == []
