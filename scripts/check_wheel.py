#!/usr/bin/env python3
"""Build the wheel, install it into a fresh virtual environment and run it in a minimal host.

What a new adopter does: ``pip install`` the distribution, add ``"badges"`` to a host's settings,
then ``check``, ``migrate`` and receive one event. The host is written here from scratch: a
settings file of about ten lines and a models module playing the host contract's roles
(docs/host-contract.rst). The event is sent through the public openedx-events signal in-process
and its badge issued at the fake provider shipped in the wheel. Exits non-zero on any failure::

    python3 scripts/check_wheel.py [--keep]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SETTINGS = """\
SECRET_KEY = "minimal-host"
INSTALLED_APPS = ["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                  "django.contrib.sessions", "django.contrib.messages", "django.contrib.sites", "minihost", "badges"]
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware",
              "django.contrib.messages.middleware.MessageMiddleware"]
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True, "OPTIONS": {
    "context_processors": ["django.template.context_processors.request", "django.contrib.auth.context_processors.auth",
                           "django.contrib.messages.context_processors.messages"]}}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "host.sqlite3"}}
ROOT_URLCONF, AUTH_USER_MODEL, SITE_ID, USE_TZ = "minihost.urls", "minihost.User", 1, True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
BADGES_ENABLED, BADGES_CREDLY_WEBHOOK_SECRET = True, "change-me"
BADGES_HOST_TIMESTAMPED_MODEL = "minihost.models.TimeStamped"
BADGES_HOST_ABSTRACT_CREDENTIAL_MODEL = "minihost.models.AbstractCredential"
BADGES_HOST_USER_CREDENTIAL_MODEL = "minihost.models.UserCredential"
JWT_AUTH = {"JWT_AUTH_HEADER_PREFIX": "JWT",
            "JWT_DECODE_HANDLER": "edx_rest_framework_extensions.auth.jwt.decoder.jwt_decode_handler",
            "JWT_ISSUERS": [{"ISSUER": "http://lms/oauth2", "AUDIENCE": "minihost",
                             "SECRET_KEY": "minimal-host-jwt-secret-of-32-bytes"}]}
"""

MODELS = """\
import uuid

from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site
from django.db import models


class User(AbstractUser):
    full_name = models.CharField(max_length=255, blank=True)
    lms_user_id = models.PositiveIntegerField(null=True, blank=True, unique=True)


class TimeStamped(models.Model):
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AbstractCredential(TimeStamped):
    site = models.ForeignKey(Site, on_delete=models.CASCADE)
    is_active = models.BooleanField(default=False)

    class Meta:
        abstract = True


class UserCredential(TimeStamped):
    credential_content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    credential_id = models.PositiveIntegerField()
    credential = GenericForeignKey("credential_content_type", "credential_id")
    username = models.CharField(max_length=255)
    status = models.CharField(max_length=255, default="awarded")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True)
"""

URLS = """\
from django.contrib import admin
from django.urls import include, path

urlpatterns = [path("admin/", admin.site.urls), path("badges/", include("badges.urls")),
               path("api/badges/v1/", include("badges.api.urls"))]
"""

# One course-passing event through the public signal; the badge is issued at the fake provider.
AWARD = """\
import time
import uuid

import django
import jwt

django.setup()

from celery import current_app
from django.contrib.sites.models import Site
from django.test import Client, override_settings
from opaque_keys.edx.keys import CourseKey
from openedx_events.learning.data import CourseData, CoursePassingStatusData, UserData, UserPersonalData
from openedx_events.learning.signals import COURSE_PASSING_STATUS_UPDATED

from badges.conf import COURSE_PASSING_STATUS_UPDATED as EVENT_TYPE
from badges.models import BadgeRequirement, CredlyBadge, CredlyBadgeTemplate, CredlyOrganization, DataRule
from badges.testing.fake_provider import FakeProvider, badges_config_for
from minihost.models import User

current_app.conf.task_always_eager = True  # this host runs no broker: provider tasks run in-process
COURSE = "course-v1:Wheel+Check+2025"

with FakeProvider() as fake, override_settings(BADGES_CONFIG=badges_config_for(fake.url)):
    org_id = fake.control.add_credly_organization(api_key="wheel-key")
    template_id = fake.control.add_credly_template(org_id, name="Wheel check")["id"]
    org = CredlyOrganization.objects.create(uuid=org_id, api_key="wheel-key", name="Org")
    template = CredlyBadgeTemplate.objects.create(site=Site.objects.get_current(), organization=org, uuid=template_id,
                                                  name="Wheel check", state="active", is_active=True)
    requirement = BadgeRequirement.objects.create(template=template, event_type=EVENT_TYPE)
    DataRule.objects.create(requirement=requirement, data_path="course.course_key", operator="eq", value=COURSE)

    learner = UserData(id=7, is_active=True,
                       pii=UserPersonalData(username="ada", email="ada@example.com", name="Ada L"))
    results = COURSE_PASSING_STATUS_UPDATED.send_event(course_passing_status=CoursePassingStatusData(
        is_passing=True, course=CourseData(course_key=CourseKey.from_string(COURSE)), user=learner))
    errors = [result for _receiver, result in results if isinstance(result, Exception)]
    assert not errors, errors

    badge = CredlyBadge.objects.get(username="ada")
    assert badge.status == "awarded" and badge.external_uuid is not None, (badge.status, badge.state)
    assert len(fake.control.credly_badges()) == 1
    assert User.objects.get(username="ada").lms_user_id == 7

    admin = User.objects.create_superuser("admin", "admin@example.com", str(uuid.uuid4()))
    client = Client()
    client.force_login(admin)
    page = client.get(f"/admin/badges/credlybadge/{badge.pk}/change/")
    assert page.status_code == 200 and b"ada" in page.content, page.status_code
    why = client.get("/admin/badges/badgeprogress/learner/?username=ada")
    assert why.status_code == 200 and b"Wheel check" in why.content, why.status_code

    now = int(time.time())
    token = jwt.encode({"iss": "http://lms/oauth2", "aud": "minihost", "iat": now, "exp": now + 60,
                        "preferred_username": "ada", "email": "ada@example.com"},
                       "minimal-host-jwt-secret-of-32-bytes", algorithm="HS256")
    # A browser's Accept header: this host has no rest_framework app (no browsable API), so JSON.
    api = Client(HTTP_AUTHORIZATION=f"JWT {token}").get("/api/badges/v1/badges/", HTTP_ACCEPT="text/html,*/*")
    assert api.status_code == 200, api.status_code
    credly_web = badges_config_for(fake.url)["credly"]["CREDLY_BASE_URL"]
    assert [row["url"] for row in api.json()["results"]] == [f"{credly_web}badges/{badge.external_uuid}"], api.json()
print(f"awarded: {badge} at the fake provider; admin pages and REST API 200")
"""


def run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    print("$", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], cwd=cwd, env=env, check=True)


def build_wheel(out: Path) -> Path:
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", out, ROOT)
    (wheel,) = out.glob("openedx_badges_service-*.whl")
    top_level = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    shipped = {name for name in top_level if not name.endswith(".dist-info")}
    if shipped != {"badges"}:
        sys.exit(f"the wheel must ship the app only, it ships {sorted(shipped)}")
    return wheel


def write_host(where: Path) -> None:
    package = where / "minihost"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(SETTINGS)
    (package / "models.py").write_text(MODELS)
    (package / "urls.py").write_text(URLS)
    (where / "award.py").write_text(AWARD)
    print(f"host settings ({len(SETTINGS.splitlines())} lines):\n{textwrap.indent(SETTINGS, '    ')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory for inspection")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="badges-wheel-"))
    try:
        wheel = build_wheel(work / "dist")
        venv.create(work / "venv", with_pip=True)
        python = work / "venv" / "bin" / "python"
        run(python, "-m", "pip", "install", "--quiet", wheel)
        host = work / "host"
        write_host(host)
        env = {key: value for key, value in os.environ.items() if not key.startswith(("BADGES_", "DJANGO_"))}
        env.update(DJANGO_SETTINGS_MODULE="minihost.settings", PYTHONPATH=str(host))
        run(python, "-m", "django", "makemigrations", "minihost", "--verbosity", "0", cwd=host, env=env)
        run(python, "-m", "django", "check", "--fail-level", "WARNING", cwd=host, env=env)
        run(python, "-m", "django", "migrate", "--verbosity", "0", cwd=host, env=env)
        run(python, "award.py", cwd=host, env=env)
    finally:
        if options.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("wheel check passed")


if __name__ == "__main__":
    main()
