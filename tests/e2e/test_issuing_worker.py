"""Issuing through a real Celery worker process on the local Redis, against the fake provider over HTTP.

The test process sends grade events (the engine queues the provider task on the Redis broker);
a separate ``celery worker`` process on the same database runs it against the fake provider,
another process. Needs a database both processes can open (PostgreSQL or MariaDB), Redis on
127.0.0.1:6379.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.db import connection

from badges import rulebook
from badges.models import CredlyBadge, CredlyBadgeTemplate, CredlyOrganization
from badges.testing.fake_provider import FakeProviderProcess
from badges.testing.processes import wait_until
from credentials_project.celery import app as celery_app
from tests.engine.conftest import COURSE_A, learner, send_grade

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
BROKER_URL = "redis://127.0.0.1:6379/13"  # a database no other test uses
FAILURES = 4


@pytest.fixture(autouse=True)
def fresh_rulebook_cache():
    """Each test database restarts the configuration counter; production counters only grow."""
    rulebook.clear_cache()
    yield
    rulebook.clear_cache()




def database_url() -> str:
    settings = connection.settings_dict
    scheme = {"postgresql": "postgres", "mysql": "mysql"}[connection.vendor]
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return f"{scheme}://{settings['USER']}{password}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"


@pytest.fixture
def fake_provider():
    with FakeProviderProcess() as fake:
        yield fake


@pytest.fixture
def broker():
    """Point this process's Celery at Redis (no eager tasks) for the test, and empty the queue database.
    """
    if connection.vendor == "sqlite":
        pytest.skip("the worker process needs a database it can open too (PostgreSQL or MariaDB)")
    client = redis.Redis.from_url(BROKER_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    client.flushdb()
    saved = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url=BROKER_URL, task_always_eager=False)
    celery_app._after_fork()  # forget producer pools bound to an earlier broker URL (Celery's own reset)
    yield BROKER_URL
    celery_app.conf.update(**saved)
    celery_app._after_fork()
    client.flushdb()


@pytest.fixture
def worker(broker, fake_provider, tmp_path):
    """``celery worker`` in its own process, stopped by PID; its log is in tmp_path."""
    log = tmp_path / "worker.log"
    env = {**os.environ, "DATABASE_URL": database_url(), "CELERY_BROKER_URL": broker,
           "BADGES_CONFIG": json.dumps(fake_provider.badges_config()),
           "BADGES_ISSUE_RETRY_FIRST_DELAY_SECONDS": "0.5", "DJANGO_SETTINGS_MODULE": "credentials_project.settings"}
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "credentials_project", "worker", "--pool", "solo",
             "--without-heartbeat", "--without-mingle", "--without-gossip", "--loglevel", "INFO"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: "ready" in log.read_text() or process.poll() is not None, 60, "the worker to start")
        assert process.poll() is None, log.read_text()
        yield log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def credly_setup(fake_provider, site, add_requirement):
    control = fake_provider.control
    organization_id = control.add_credly_organization(api_key="the-right-key", name="Fake org")
    remote = control.add_credly_template(organization_id, name="Passed course A")
    organization = CredlyOrganization.objects.create(uuid=organization_id, api_key="the-right-key", name="Fake org")
    template = CredlyBadgeTemplate.objects.create(site=site, organization=organization, uuid=remote["id"],
                                                  name="Passed course A", state="active")
    add_requirement(template, rules=[("course.course_key", "eq", COURSE_A), ("is_passing", "eq", "true")])
    template.is_active = True
    template.save()
    control.clear_calls()
    return organization, template


def issue_calls(fake_provider) -> list[dict]:
    return [call for call in fake_provider.control.calls()
            if call["method"] == "POST" and call["path"].rstrip("/").endswith("/badges")]


def test_provider_down_for_the_first_calls_ends_issued_once(fake_provider, credly_setup, worker):
    fake_provider.control.fail_next(FAILURES, status=503, path="/badges", method="POST")
    send_grade(COURSE_A)
    badge = CredlyBadge.objects.get()

    def issued():
        badge.refresh_from_db()
        return badge.external_uuid is not None

    wait_until(issued, 90, f"the badge to be issued; worker log:\n{worker.read_text()[-3000:]}")
    calls = issue_calls(fake_provider)
    assert [call["status"] for call in calls].count(201) == 1
    assert [call["status"] for call in calls].count(503) == FAILURES
    assert badge.state == "pending" and badge.provider_error == "" and badge.issue_attempts > 1
    assert [b["id"] for b in fake_provider.control.credly_badges()] == [str(badge.external_uuid)]


def test_unauthorized_is_an_error_with_its_reason_then_retried_from_the_admin(fake_provider, credly_setup, worker,
                                                                              staff_client):
    organization, _template = credly_setup
    organization.api_key = "a-wrong-key"
    organization.save()
    send_grade(COURSE_A, user=learner(2))
    badge = CredlyBadge.objects.get()

    def settled():
        badge.refresh_from_db()
        return badge.state == "error"

    wait_until(settled, 60, f"the badge to fail; worker log:\n{worker.read_text()[-3000:]}")
    assert "401" in badge.provider_error and "a-wrong-key" not in badge.provider_error
    page = staff_client.get("/admin/badges/credlybadge/").content.decode()
    assert "401" in page and "a-wrong-key" not in page

    organization.api_key = "the-right-key"
    organization.save()
    staff_client.post("/admin/badges/credlybadge/", {"action": "retry_issuing", "_selected_action": [badge.pk]})

    def issued():
        badge.refresh_from_db()
        return badge.external_uuid is not None

    wait_until(issued, 60, f"the retried badge to be issued; worker log:\n{worker.read_text()[-3000:]}")
    assert badge.state == "pending" and badge.provider_error == ""
    assert [call["status"] for call in issue_calls(fake_provider)] == [401, 201]
