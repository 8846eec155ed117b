"""Shared fixtures: a site, provider accounts, templates with requirements, staff clients."""
from __future__ import annotations

import uuid

import pytest
from django.contrib.sites.models import Site

from badges import pacing
from badges.conf import COURSE_PASSING_STATUS_UPDATED
from badges.models import (
    AccredibleAPIConfig,
    AccredibleGroup,
    BadgeRequirement,
    CredlyBadgeTemplate,
    CredlyOrganization,
    DataRule,
)


@pytest.fixture(autouse=True)
def unpaced_providers(settings):
    """Tests call providers in quick succession: unpaced unless a test sets its rate (the pacing tests),
    and then with full in-process buckets (no Redis in the unit tests)."""
    settings.BADGES_PROVIDER_RATE_LIMITS = {}
    yield
    pacing.clear_local_buckets()


@pytest.fixture
def site(db) -> Site:
    return Site.objects.get_current()


@pytest.fixture
def credly_org(db) -> CredlyOrganization:
    return CredlyOrganization.objects.create(uuid=uuid.uuid4(), api_key="credly-secret-key", name="Org")


@pytest.fixture
def accredible_config(db) -> AccredibleAPIConfig:
    return AccredibleAPIConfig.objects.create(name="Accredible", api_key="accredible-secret-key")


@pytest.fixture
def make_credly_template(site, credly_org):
    def make(**fields) -> CredlyBadgeTemplate:
        fields.setdefault("name", "Template")
        fields.setdefault("state", CredlyBadgeTemplate.State.ACTIVE)
        return CredlyBadgeTemplate.objects.create(site=site, organization=credly_org, uuid=uuid.uuid4(), **fields)

    return make


@pytest.fixture
def make_accredible_group(site, accredible_config):
    counter = iter(range(1000, 10**6))

    def make(**fields) -> AccredibleGroup:
        fields.setdefault("name", "Group")
        fields.setdefault("state", AccredibleGroup.State.ACTIVE)
        fields.setdefault("external_id", next(counter))
        return AccredibleGroup.objects.create(site=site, api_config=accredible_config, **fields)

    return make


@pytest.fixture
def add_requirement():
    def add(template, *, rules=(), group="", event_type=COURSE_PASSING_STATUS_UPDATED) -> BadgeRequirement:
        requirement = BadgeRequirement.objects.create(template=template, event_type=event_type, group=group)
        for data_path, operator, value in rules:
            DataRule.objects.create(requirement=requirement, data_path=data_path, operator=operator, value=value)
        return requirement

    return add


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.com", "password")
    client.force_login(user)
    return client


@pytest.fixture
def real_concurrency(db) -> None:
    """Skip on SQLite, which serialises writers: a race needs PostgreSQL or MariaDB."""
    from django.db import connection

    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL or MariaDB")
