"""The real web service for the reliability scenarios: ``manage.py runserver`` in its own process.

It runs on a free loopback port against the test database (so it needs one another process can
open: PostgreSQL or MariaDB), queues its Celery tasks on Redis, and writes its whole log to a
file the scenario scans for unhandled exceptions afterwards.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
import requests
from django.db import connection

from badges.testing.brokers import HOST, free_port
from badges.testing.processes import stop_process, wait_until
from tests.e2e.test_issuing_worker import database_url

ROOT = Path(__file__).resolve().parents[2]
#: Redis database the scenarios' web service queues its tasks in; override when it is taken.
REDIS_URL = os.environ.get("RELIABILITY_WEB_REDIS_URL", "redis://127.0.0.1:6379/7")
#: What an unhandled exception leaves in the log of ``runserver``: Django's traceback, or a 500 access line.
UNHANDLED = re.compile(r"Traceback \(most recent call last\)|Internal Server Error|\" 500 \d+")


def require_shared_database() -> None:
    if connection.vendor == "sqlite":
        pytest.skip("the web service process needs a database it can open too (PostgreSQL or MariaDB)")


def empty_redis_queue() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    client.flushdb()
    return client


class WebService:
    """A running ``runserver --noreload``; ``url`` to call it, ``log()`` to read what it wrote."""

    def __init__(self, process: subprocess.Popen, url: str, log_path: Path) -> None:
        self.process = process
        self.url = url
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def unhandled_exceptions(self) -> list[str]:
        return [line for line in self.log().splitlines() if UNHANDLED.search(line)]


@contextmanager
def web_service(log_path: Path, **env: str) -> Iterator[WebService]:
    """Start the web service with ``env`` on top of this process's environment; stop it by PID."""
    require_shared_database()
    port = free_port()
    environment = {
        **os.environ, "DATABASE_URL": database_url(), "CELERY_BROKER_URL": REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "credentials_project.settings", "DATABASE_CONN_MAX_AGE": "0", **env,
    }
    with log_path.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", "--nothreading", f"{HOST}:{port}"],
            cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT,
        )
    service = WebService(process, f"http://{HOST}:{port}", log_path)
    try:
        wait_until(lambda: _answers(service) or process.poll() is not None, 60,
                   lambda: f"the web service to start:\n{service.log()}")
        assert process.poll() is None, service.log()
        yield service
    finally:
        stop_process(process)


def _answers(service: WebService) -> bool:
    try:
        return requests.get(f"{service.url}/admin/login/", timeout=5).status_code == 200
    except requests.ConnectionError:
        return False
