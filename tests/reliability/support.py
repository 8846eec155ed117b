"""Real processes and databases for the reliability scenarios, all on loopback.

Each scenario gets a database of its own, created afresh and migrated by ``manage.py migrate``
(PostgreSQL at ``RELIABILITY_POSTGRES_URL``, MariaDB at ``RELIABILITY_MARIADB_URL``), so it does
not depend on the database the rest of the suite runs on. The Celery broker is Redis database 4
(``RELIABILITY_BROKER_URL``), the event bus Redis database 5 (``RELIABILITY_BUS_REDIS_URL``).
A missing service fails the scenario with a message naming it: these scenarios are the proof,
and a skipped proof proves nothing.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import redis

from badges.conf import COURSE_PASSING_STATUS_UPDATED
from badges.testing.fake_provider import FakeProviderProcess
from badges.testing.processes import stop_process, wait_until
from tests.e2e.bus_support import manage

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get("RELIABILITY_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/badges_reliability")
MARIADB_URL = os.environ.get("RELIABILITY_MARIADB_URL", "mysql://root@127.0.0.1:3306/badges_reliability")
BROKER_URL = os.environ.get("RELIABILITY_BROKER_URL", "redis://127.0.0.1:6379/4")
BUS_REDIS_URL = os.environ.get("RELIABILITY_BUS_REDIS_URL", "redis://127.0.0.1:6379/5")
TASK_RECEIVED = re.compile(r"Task badges\.sync_badge_with_provider\[[0-9a-f-]+\] received")
COURSES = ["course-v1:Reliability+A+2026", "course-v1:Reliability+B+2026"]


def require_redis(url: str) -> redis.Redis:
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"This scenario needs Redis at {url} (set the RELIABILITY_*_URL variables): {error}")
    return client


def fresh_database(url: str) -> None:
    """Drop and create the scenario's database, then migrate it in a process of its own."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    try:
        if parts.scheme.startswith("postgres"):
            import psycopg

            with psycopg.connect(host=parts.hostname, port=parts.port or 5432, user=unquote(parts.username or ""),
                                 password=unquote(parts.password or ""), dbname="postgres",
                                 autocommit=True, connect_timeout=5) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                connection.execute(f'CREATE DATABASE "{name}"')
        else:
            import pymysql

            connection = pymysql.connect(host=parts.hostname, port=parts.port or 3306,
                                         user=unquote(parts.username or ""), password=unquote(parts.password or ""),
                                         connect_timeout=5)
            with connection, connection.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
                cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    except Exception as error:  # whatever the failure, the server is not usable for the scenario
        pytest.fail(f"This scenario needs the database server of {url} "
                    f"(set RELIABILITY_POSTGRES_URL / RELIABILITY_MARIADB_URL): {error}")
    manage(service_env(url), "migrate", "--no-input", timeout=300)


def service_env(database_url: str, **overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("EVENT_BUS_", "CELERY_", "BADGES_", "DATABASE_"))}
    env.update({"DJANGO_SETTINGS_MODULE": "tests.reliability.service_settings", "DATABASE_URL": database_url,
                "BADGES_ENABLED": "true", "PYTHONUNBUFFERED": "1"})
    env.update(overrides)
    return env


def driver(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    result = subprocess.run([sys.executable, "-m", "tests.reliability.driver", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"driver {args[0]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def report(env: dict[str, str]) -> dict[str, Any]:
    line = next(line for line in driver(env, "report").splitlines() if line.startswith("REPORT="))
    return json.loads(line.removeprefix("REPORT="))


def seed(fake: FakeProviderProcess, env: dict[str, str], *, credly_courses: list[str],
         accredible_courses: list[str]) -> None:
    """One Credly template and one Accredible group, at the fake provider and in the database."""
    control = fake.control
    organization = control.add_credly_organization(api_key="reliability-credly-key", name="Reliability org")
    template = control.add_credly_template(organization, name="Reliability Credly badge")
    control.add_accredible_account(api_key="reliability-accredible-key", name="Reliability issuer")
    group = control.add_accredible_group(api_key="reliability-accredible-key", name="Reliability group")
    config = {"credly_org": organization, "credly_key": "reliability-credly-key", "credly_template": template["id"],
              "accredible_key": "reliability-accredible-key", "accredible_group": group["id"],
              "credly_courses": credly_courses, "accredible_courses": accredible_courses,
              "event_type": COURSE_PASSING_STATUS_UPDATED}
    driver(env, "setup", "--config", json.dumps(config))
    control.clear_calls()


@dataclass
class Service:
    """A service process (worker, sweep, consumer) writing to its own log; stopped or killed by PID."""

    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, first_signal: int = signal.SIGTERM) -> None:
        stop_process(self.process, first_signal, 30)


def start(env: dict[str, str], command: list[str], log_path: Path) -> Service:
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return Service(process, log_path)


def start_worker(env: dict[str, str], log_path: Path) -> Service:
    """A Celery worker: one process (thread pool), so a SIGKILL ends every task it was running."""
    worker = start(env, [sys.executable, "-m", "celery", "-A", "credentials_project", "worker", "--pool", "threads",
                         "--concurrency", "4", "--without-heartbeat", "--without-mingle", "--without-gossip",
                         "--loglevel", "INFO"], log_path)
    wait_until(lambda: "ready" in worker.log() or worker.process.poll() is not None, 60, "the worker to start")
    assert worker.process.poll() is None, worker.log()[-3000:]
    return worker


def start_sweeper(env: dict[str, str], log_path: Path, every: float) -> Service:
    return start(env, [sys.executable, "manage.py", "sweep_badges", "--every", str(every)], log_path)


def task_deliveries(*logs: Path) -> int:
    """Provider tasks the workers received (first deliveries, retries, re-queues), from their logs."""
    return sum(len(TASK_RECEIVED.findall(log.read_text(errors="replace"))) for log in logs if log.exists())


def broker_idle(client: redis.Redis) -> bool:
    """No task waiting in the queue and none reserved by a worker (``acks_late``: unacked until done)."""
    return client.llen("celery") == 0 and client.hlen("unacked") == 0


def provider_holdings(fake: FakeProviderProcess) -> dict[str, dict[str, int]]:
    """Per provider: badges issued at the fake, and those beyond one live badge per learner and template."""
    credly = fake.control.credly_badges()
    accredible = fake.control.accredible_credentials()
    credly_live = Counter((b["badge_template"]["id"], b["recipient_email"].lower()) for b in credly
                          if b["state"] != "revoked")
    accredible_live = Counter((c["group_id"], str(c["recipient"].get("email")).lower()) for c in accredible
                              if not c.get("expired_on"))
    return {
        "credly": {"issues": len(credly), "duplicates": sum(n - 1 for n in credly_live.values())},
        "accredible": {"issues": len(accredible), "duplicates": sum(n - 1 for n in accredible_live.values())},
    }


def summarize_issuing(summary: Any, found: dict[str, dict[str, int]], holdings: dict[str, dict[str, int]],
                      expected: int, started: float) -> None:
    """Fill a scenario's summary from the local records (``found``) and the provider's holdings."""
    summary.awards = sum(found[origin]["records"] for origin in found)
    summary.provider_issues = sum(holding["issues"] for holding in holdings.values())
    summary.duplicates = (sum(holding["duplicates"] for holding in holdings.values())
                          + sum(found[origin]["extra_records"] for origin in found))
    summary.lost = expected - sum(found[origin]["learners_issued"] for origin in found)
    summary.seconds = time.monotonic() - started
