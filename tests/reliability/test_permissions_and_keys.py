"""Every admin page and action over accounts, templates, badges and webhook events, for five roles,
and every provider key used looked for in everything the run produced.

Roles: anonymous, a logged-in non-staff user, staff without badge permissions, view-only staff
(every ``view_*`` permission of the app) and full staff (every permission of the app, not a
superuser). Each request's status is compared with what that role may do, and an action's effect
(a provider call, a queued task) must happen for full staff only. Then each key is looked for in
every response (body and headers), every log record (captured at DEBUG, SQL included), every
request exception, every Celery task's arguments, ``dumpdata`` of all apps and every column of
every table in the database.
"""
from __future__ import annotations

import io
import logging
import time
import traceback
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from celery.signals import before_task_publish, task_prerun
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.signals import got_request_exception
from django.db import connection
from django.test import Client
from django.urls import reverse

from badges.models import (
    AccredibleAPIConfig,
    AccredibleBadge,
    AccredibleGroup,
    CredlyBadge,
    CredlyBadgeTemplate,
    CredlyOrganization,
    CredlyWebhookEvent,
    CredlyWebhookRejection,
)
from badges.testing.fake_provider import FakeProviderProcess
from tests.reliability.summary import ScenarioSummary

User = get_user_model()

pytestmark = pytest.mark.django_db(transaction=True)

CREDLY_KEY = "matrix-credly-stored-key-7Q2x"
CREDLY_WRONG_KEY = "matrix-credly-wrong-key-9Zr4"
PRECONFIGURED_KEY = "matrix-credly-settings-key-3Kp8"
ACCREDIBLE_KEY = "matrix-accredible-key-5Hn1"
ACCREDIBLE_NEW_KEY = "matrix-accredible-new-key-8Wd6"
KEYS = (CREDLY_KEY, CREDLY_WRONG_KEY, PRECONFIGURED_KEY, ACCREDIBLE_KEY, ACCREDIBLE_NEW_KEY)

ROLES = ("anonymous", "non_staff", "staff_no_permissions", "view_only", "full")
VIEWS = ("changelist", "add", "change", "history", "delete")
#: The views full staff may open, per model (the others answer 403 to everyone).
FULL_VIEWS = {
    CredlyOrganization: set(VIEWS),
    AccredibleAPIConfig: set(VIEWS),
    CredlyBadgeTemplate: {"changelist", "change", "history", "delete"},
    AccredibleGroup: {"changelist", "change", "history", "delete"},
    CredlyBadge: {"changelist", "change", "history"},
    AccredibleBadge: {"changelist", "change", "history"},
    CredlyWebhookEvent: {"changelist", "change", "history"},
    CredlyWebhookRejection: {"changelist", "change", "history"},
}
VIEW_ONLY_VIEWS = {"changelist", "change", "history"}


def expected_status(role: str, model: type, view: str) -> int:
    if role in ("anonymous", "non_staff"):
        return 302
    if role == "staff_no_permissions":
        return 403
    allowed = FULL_VIEWS[model] & (VIEW_ONLY_VIEWS if role == "view_only" else set(VIEWS))
    return 200 if view in allowed else 403


class Capture:
    """Everything the run produced, to be searched for keys."""

    def __init__(self) -> None:
        self.responses: list[str] = []
        self.exceptions: list[str] = []
        self.task_arguments: list[str] = []

    def response(self, response: Any) -> Any:
        self.responses.append(f"{response.status_code} {dict(response.headers)!r}\n"
                              f"{response.content.decode(errors='replace')}")
        return response

    def on_exception(self, sender: Any, request: Any = None, **kwargs: Any) -> None:
        self.exceptions.append(traceback.format_exc())

    def on_publish(self, sender: Any = None, body: Any = None, headers: Any = None, **kwargs: Any) -> None:
        self.task_arguments.append(f"{sender} {body!r} {headers!r}")

    def on_prerun(self, sender: Any = None, task_id: Any = None, task: Any = None, args: Any = None,
                  kwargs: Any = None, **extra: Any) -> None:
        self.task_arguments.append(f"{task.name if task else sender} {args!r} {kwargs!r}")


@pytest.fixture
def capture() -> Iterator[Capture]:
    captured = Capture()
    got_request_exception.connect(captured.on_exception)
    before_task_publish.connect(captured.on_publish)
    task_prerun.connect(captured.on_prerun)
    yield captured
    got_request_exception.disconnect(captured.on_exception)
    before_task_publish.disconnect(captured.on_publish)
    task_prerun.disconnect(captured.on_prerun)


@pytest.fixture
def fake():
    with FakeProviderProcess() as process:
        yield process


def make_user(role: str) -> Client:
    client = Client()
    if role == "anonymous":
        return client
    user = User.objects.create_user(role, f"{role}@example.com", "password", is_staff=role != "non_staff")
    badges_permissions = Permission.objects.filter(content_type__app_label="badges")
    if role == "view_only":
        user.user_permissions.set(badges_permissions.filter(codename__startswith="view_"))
    elif role == "full":
        user.user_permissions.set(badges_permissions)
    client.force_login(user)
    return client


def admin_url(model: type, view: str, obj: Any = None) -> str:
    meta = model._meta
    args = [obj.pk] if view in ("change", "history", "delete") else []
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


def all_table_contents() -> str:
    """Every column of every row of every table, as text."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_permission_matrix_and_no_key_anywhere(fake, capture, caplog, settings):
    started = time.monotonic()
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")  # Django's own logging config sets "django" to INFO
    control = fake.control
    preconfigured_org = str(uuid.uuid4())
    settings.BADGES_CONFIG = {**fake.badges_config(),
                              "credly": {**fake.badges_config()["credly"],
                                         "ORGANIZATIONS": {preconfigured_org: PRECONFIGURED_KEY}}}
    settings.BADGES_PROVIDER_HTTP = {"attempts": 1}
    org_id = control.add_credly_organization(api_key=CREDLY_KEY, name="Matrix Academy")
    control.add_credly_organization(api_key=PRECONFIGURED_KEY, name="Settings Academy",
                                    organization_id=preconfigured_org)
    control.add_accredible_account(api_key=ACCREDIBLE_KEY, name="Matrix issuer")
    control.add_accredible_account(api_key=ACCREDIBLE_NEW_KEY, name="Matrix issuer, new key")
    org = CredlyOrganization.objects.create(uuid=org_id, api_key=CREDLY_KEY, name="Matrix Academy")
    CredlyOrganization.objects.create(uuid=preconfigured_org, name="Settings Academy")
    config = AccredibleAPIConfig.objects.create(name="Matrix issuer", api_key=ACCREDIBLE_KEY)
    credly_template = CredlyBadgeTemplate.objects.create(site_id=1, organization=org, uuid=uuid.uuid4(),
                                                         name="Matrix badge")
    group = AccredibleGroup.objects.create(site_id=1, api_config=config, external_id=77, name="Matrix group")
    credly_badge = CredlyBadge.objects.create(
        credential_content_type=ContentType.objects.get_for_model(CredlyBadgeTemplate),
        credential_id=credly_template.pk, username="learner", state="error")
    accredible_badge = AccredibleBadge.objects.create(
        credential_content_type=ContentType.objects.get_for_model(AccredibleGroup),
        credential_id=group.pk, username="learner", state="error")
    event = CredlyWebhookEvent.objects.create(event_id=uuid.uuid4(), organization=org, event_type="badge.created",
                                              occurred_at="2026-11-27T10:00:00Z", status="failed")
    rejection = CredlyWebhookRejection.objects.create(reason="malformed", count=3)
    objects = {CredlyOrganization: org, AccredibleAPIConfig: config, CredlyBadgeTemplate: credly_template,
               AccredibleGroup: group, CredlyBadge: credly_badge, AccredibleBadge: accredible_badge,
               CredlyWebhookEvent: event, CredlyWebhookRejection: rejection}
    connection.force_debug_cursor = True  # SQL and its parameters go to the DEBUG log too
    mismatches: list[str] = []
    requests_made = 0

    def check(role: str, what: str, response: Any, expected: int) -> None:
        nonlocal requests_made
        requests_made += 1
        capture.response(response)
        if response.status_code != expected:
            mismatches.append(f"{role} {what}: {response.status_code}, expected {expected}")
        if expected == 302 and role in ("anonymous", "non_staff") and "/admin/login/" not in response["Location"]:
            mismatches.append(f"{role} {what}: redirected to {response['Location']}, not to the login page")

    def provider_calls() -> int:
        return len(control.calls())

    try:
        for role in ROLES:
            client = make_user(role)
            for model, obj in objects.items():
                for view in VIEWS:
                    url = admin_url(model, view, obj)
                    check(role, f"GET {url}", client.get(url), expected_status(role, model, view))
            may_change = role == "full"
            # Without the change permission the admin offers no action: the POST shows the list again.
            denied = {"anonymous": 302, "non_staff": 302, "staff_no_permissions": 403, "view_only": 200}.get(role)
            for model, action, pks in (
                (CredlyOrganization, "sync_organization_badge_templates", [org.pk]),
                (AccredibleAPIConfig, "sync_groups", [config.pk]),
            ):
                before = provider_calls()
                url = admin_url(model, "changelist")
                response = client.post(url, {"action": action, "_selected_action": pks})
                check(role, f"POST {url} {action}", response, denied or 302)
                if (provider_calls() > before) != may_change:
                    mismatches.append(f"{role} {action}: provider called {provider_calls() - before} times")
            for model, badge in ((CredlyBadge, credly_badge), (AccredibleBadge, accredible_badge)):
                tasks_before = len(capture.task_arguments)
                url = admin_url(model, "changelist")
                response = client.post(url, {"action": "retry_issuing", "_selected_action": [badge.pk]})
                check(role, f"POST {url} retry_issuing", response, denied or 302)
                response = client.post(url, {"action": "reaward", "_selected_action": [badge.pk]})
                check(role, f"POST {url} reaward (not revoked: nothing to do)", response, denied or 302)
                if (len(capture.task_arguments) > tasks_before) != may_change:
                    mismatches.append(f"{role} retry_issuing {model.__name__}: tasks "
                                      f"{capture.task_arguments[tasks_before:]}")
                badge.refresh_from_db()
                badge.state = "error"
                badge.save(update_fields=["state"])
            for model, obj in ((CredlyBadgeTemplate, credly_template), (AccredibleGroup, group)):
                url = admin_url(model, "changelist")
                response = client.post(url, {"action": "delete_selected", "_selected_action": [obj.pk]})
                check(role, f"POST {url} delete_selected (confirmation page)", response, denied or 200)
            # Changing a key: a wrong one is refused with a form error, a right one is stored.
            url = admin_url(CredlyOrganization, "change", org)
            response = client.post(url, {"api_key": CREDLY_WRONG_KEY})
            check(role, f"POST {url} wrong key", response, 403 if role == "view_only" else denied or 200)
            if may_change:
                assert "rejected these credentials" in response.content.decode(), response.content[:2000]
            url = admin_url(AccredibleAPIConfig, "change", config)
            response = client.post(url, {"name": "Matrix issuer", "api_key": ACCREDIBLE_NEW_KEY})
            check(role, f"POST {url} new key", response, 403 if role == "view_only" else denied or 302)
            expected_key = ACCREDIBLE_NEW_KEY if may_change else ACCREDIBLE_KEY
            if AccredibleAPIConfig.objects.get(pk=config.pk).api_key != expected_key:
                mismatches.append(f"{role} changing the Accredible key: stored key is not the expected one")
            for model in (CredlyOrganization, AccredibleAPIConfig):  # the pages again, messages included
                for view in ("changelist", "change", "history"):
                    url = admin_url(model, view, objects[model])
                    check(role, f"GET {url} (after actions)", client.get(url), expected_status(role, model, view))
            if may_change:  # the new key stays in use: sync with it
                before = provider_calls()
                response = client.post(admin_url(AccredibleAPIConfig, "changelist"),
                                       {"action": "sync_groups", "_selected_action": [config.pk]})
                check(role, "POST sync_groups with the new key", response, 302)
                assert provider_calls() > before
                control.fail_next(1, status=500)
                response = client.post(admin_url(CredlyOrganization, "changelist"),
                                       {"action": "sync_organization_badge_templates",
                                        "_selected_action": [org.pk]}, follow=True)
                check(role, "POST sync with the provider failing (error message)", response, 200)
    finally:
        connection.force_debug_cursor = False
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    sinks = {
        "responses": "\n".join(capture.responses),
        "logs": "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records),
        "exceptions": "\n".join(capture.exceptions),
        "task arguments": "\n".join(capture.task_arguments),
        "dumpdata": dump.getvalue(),
        "database": all_table_contents(),
    }
    leaks = [f"{key} in {sink}" for key in KEYS for sink, text in sinks.items() if key in text]
    summary = ScenarioSummary("admin permission matrix and key scan", events=requests_made,
                              lost=len(leaks) + sum(" 500 " in f" {r[:4]}" for r in capture.responses),
                              seconds=time.monotonic() - started)
    summary.report()
    print(f"permission matrix: {requests_made} requests; scanned bytes per sink "
          f"{ {sink: len(text) for sink, text in sinks.items()} }; tasks {len(capture.task_arguments)}")
    assert mismatches == [], "\n".join(mismatches)
    assert leaks == [], leaks
    assert capture.exceptions == []
    assert len(capture.task_arguments) >= 2 and "SELECT" in sinks["logs"]
