"""The app takes nothing from its host but the host contract (``badges/host.py``)."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

import badges
from badges import host
from badges.models import AccredibleBadge, BadgeProgress, BadgeTemplate, CredlyBadge, OpenBadge

APP = Path(badges.__file__).parent
ROOT = APP.parent
# What the app may import: the standard library, itself, and the distributions it depends on
# (with what their public API hands out). Any host module (credentials_project, credentials,
# tests...) is outside this list.
ALLOWED_IMPORTS = {
    "badges", "django", "celery", "openedx_events", "opaque_keys", "attr", "requests", "urllib3", "redis",
    "edx_event_bus_kafka", "confluent_kafka", "edx_event_bus_redis", "cryptography", "joserfc",
    "rest_framework", "edx_rest_framework_extensions", "drf_spectacular", "orjson", "fastavro", "edx_django_utils",
}


def imported_top_level_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_no_badges_module_imports_a_host_module():
    foreign = {}
    for path in APP.rglob("*.py"):
        outside = imported_top_level_modules(path) - ALLOWED_IMPORTS - set(sys.stdlib_module_names)
        if outside:
            foreign[str(path.relative_to(ROOT))] = sorted(outside)
    assert not foreign, f"badges modules importing something other than the app's dependencies: {foreign}"


def test_the_badge_models_extend_the_models_the_settings_name():
    assert host.UserCredential is import_string(settings.BADGES_HOST_USER_CREDENTIAL_MODEL)
    for model in (CredlyBadge, AccredibleBadge, OpenBadge):
        assert model._meta.get_parent_list() == [host.UserCredential]
    assert issubclass(BadgeTemplate, import_string(settings.BADGES_HOST_ABSTRACT_CREDENTIAL_MODEL))
    assert issubclass(BadgeProgress, import_string(settings.BADGES_HOST_TIMESTAMPED_MODEL))


def test_loading_every_badges_module_on_another_host_runs_no_demo_host_code():
    """On the second test host, import the whole app: no ``credentials_project`` module may load, and
    the host's Celery app stays the current one (importing the demo host would replace it)."""
    code = (
        "import importlib, pkgutil, sys, django\n"
        "django.setup()\n"
        "import badges, celery\n"
        "for module in pkgutil.walk_packages(badges.__path__, 'badges.'):\n"
        "    importlib.import_module(module.name)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith('credentials_project')}))\n"
        "print(celery.current_app.main)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.althost.settings"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["[]", "althost"]


def test_a_host_model_missing_a_contract_field_is_named_by_the_checks(monkeypatch):
    monkeypatch.setitem(host.REQUIRED_FIELDS, "BADGES_HOST_USER_CREDENTIAL_MODEL",
                        (lambda: host.UserCredential, ("username", "awarded_on")))
    errors = host.check_host_contract()
    assert [e.id for e in errors] == ["badges.E020"]
    assert "has no field 'awarded_on'" in errors[0].msg and "BADGES_HOST_USER_CREDENTIAL_MODEL" in errors[0].msg


def test_the_hosts_models_fulfil_the_contract():
    assert host.check_host_contract() == []
