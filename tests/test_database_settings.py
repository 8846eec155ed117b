"""Database protections: timeouts in the host settings, the system check for hosts that lack them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from badges.database import check_database_timeouts, database_timeout_warnings

ROOT = Path(__file__).resolve().parents[1]


def host_database_options(database_url: str, **env: str) -> dict:
    """``DATABASES['default']['OPTIONS']`` as the host settings build them in a fresh process."""
    script = ("import json, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'credentials_project.settings'); "
              "from django.conf import settings; print(json.dumps(settings.DATABASES['default']['OPTIONS']))")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "credentials_project.settings",
                                 "DATABASE_URL": database_url, **env})
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_postgresql_gets_connect_read_and_statement_timeouts() -> None:
    options = host_database_options("postgres://u@db.example:5432/x", DATABASE_CONNECT_TIMEOUT_SECONDS="4")
    assert options["connect_timeout"] == 4
    assert options["keepalives"] == 1 and options["keepalives_idle"] == 10 and options["keepalives_count"] == 3
    assert options["tcp_user_timeout"] == 30000
    assert options["options"] == "-c statement_timeout=300000"


def test_database_url_options_win_over_the_defaults() -> None:
    options = host_database_options("postgres://u@db.example:5432/x?connect_timeout=2",
                                    DATABASE_STATEMENT_TIMEOUT_SECONDS="0")
    assert options["connect_timeout"] == 2
    assert "options" not in options


def test_mysql_gets_connect_read_and_write_timeouts() -> None:
    options = host_database_options("mysql://root@db.example:3306/x", DATABASE_READ_TIMEOUT_SECONDS="12")
    assert (options["connect_timeout"], options["read_timeout"], options["write_timeout"]) == (10, 12, 12)


def test_sqlite_writers_wait_for_the_lock(tmp_path: Path) -> None:
    options = host_database_options(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] == 60


@pytest.mark.parametrize(("engine", "options", "missing"), [
    ("django.db.backends.postgresql", {}, "connect_timeout"),
    ("django.db.backends.mysql", {"connect_timeout": 5}, "read_timeout"),
    ("django.db.backends.mysql", {}, "connect_timeout and no read_timeout"),
])
def test_check_warns_about_a_database_without_timeouts(engine: str, options: dict, missing: str) -> None:
    [warning] = database_timeout_warnings({"ENGINE": engine, "NAME": "x", "OPTIONS": options})
    assert warning.id == "badges.W040"
    assert f"sets no {missing}:" in warning.msg


@pytest.mark.parametrize(("engine", "options"), [
    ("django.db.backends.postgresql", {"connect_timeout": 5}),
    ("django.db.backends.mysql", {"connect_timeout": 5, "read_timeout": 30}),
    ("django.db.backends.sqlite3", {}),
])
def test_check_is_quiet_when_the_timeouts_are_set(engine: str, options: dict) -> None:
    assert database_timeout_warnings({"ENGINE": engine, "NAME": "x", "OPTIONS": options}) == []


def test_check_is_registered() -> None:
    from django.core import checks

    assert check_database_timeouts in checks.registry.registry.get_checks()
