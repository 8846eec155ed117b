"""``BADGES_ENABLED`` off hides the badge sections of the admin and refuses all their pages."""
from __future__ import annotations

import uuid

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from badges.admin.base import BadgesEnabledMixin
from badges.models import AccredibleAPIConfig, BadgePenalty, CredlyOrganization

pytestmark = pytest.mark.django_db

SECTIONS = ("credlybadgetemplate", "accrediblegroup", "badgerequirement", "badgepenalty", "badgeprogress",
            "credlyorganization", "accredibleapiconfig")
#: Sections whose add page exists while the badges are on.
ADDABLE = ("badgerequirement", "badgepenalty", "credlyorganization", "accredibleapiconfig")

BADGE_ADMINS = [model_admin for model, model_admin in admin.site._registry.items()
                if model._meta.app_label == "badges"]


def badge_models_on_index(client) -> set[str]:
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return {
        model["object_name"].lower()
        for app in response.context["app_list"] if app["app_label"] == "badges"
        for model in app["models"]
    }


@pytest.fixture
def deletable_rows(make_credly_template, add_requirement) -> dict[str, object]:
    """One row per section that a superuser may delete while the badges are on."""
    template = make_credly_template(is_active=False)
    requirement = add_requirement(template)
    return {
        "credlybadgetemplate": template,
        "badgerequirement": requirement,
        "badgepenalty": BadgePenalty.objects.create(template=template, event_type=requirement.event_type),
        "credlyorganization": CredlyOrganization.objects.create(uuid=uuid.uuid4(), api_key="k", name="Idle"),
        "accredibleapiconfig": AccredibleAPIConfig.objects.create(name="Idle", api_key="k"),
    }


def test_every_badges_model_admin_follows_the_switch():
    assert BADGE_ADMINS
    assert [type(a).__name__ for a in BADGE_ADMINS if not isinstance(a, BadgesEnabledMixin)] == []


@pytest.mark.parametrize("model_admin", BADGE_ADMINS, ids=lambda a: type(a).__name__)
def test_no_permission_at_all_when_disabled(settings, admin_user, model_admin):
    settings.BADGES_ENABLED = False
    request = RequestFactory().get("/")
    request.user = admin_user
    assert not model_admin.has_module_permission(request)
    assert not model_admin.has_view_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_sections_listed_when_enabled(staff_client, settings):
    settings.BADGES_ENABLED = True
    assert set(SECTIONS) <= badge_models_on_index(staff_client)


def test_sections_hidden_when_disabled(staff_client, settings):
    settings.BADGES_ENABLED = False
    assert not set(SECTIONS) & badge_models_on_index(staff_client)


@pytest.mark.parametrize("section", SECTIONS)
def test_section_pages_refused_when_disabled(staff_client, settings, section):
    settings.BADGES_ENABLED = False
    assert staff_client.get(reverse(f"admin:badges_{section}_changelist")).status_code == 403


@pytest.mark.parametrize("section", ADDABLE)
def test_add_pages_open_when_enabled_and_refused_when_disabled(staff_client, settings, section):
    url = reverse(f"admin:badges_{section}_add")
    assert staff_client.get(url).status_code == 200
    settings.BADGES_ENABLED = False
    assert staff_client.get(url).status_code == 403
    assert staff_client.post(url, {}).status_code == 403


@pytest.mark.parametrize("section", ["credlybadgetemplate", "badgerequirement", "badgepenalty",
                                     "credlyorganization", "accredibleapiconfig"])
def test_delete_pages_open_when_enabled_and_refused_when_disabled(staff_client, settings, deletable_rows,
                                                                  section):
    row = deletable_rows[section]
    url = reverse(f"admin:badges_{section}_delete", args=[row.pk])
    assert staff_client.get(url).status_code == 200
    settings.BADGES_ENABLED = False
    assert staff_client.get(url).status_code == 403
    assert staff_client.post(url, {"post": "yes"}).status_code == 403
    assert type(row).objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("section", ["credlybadgetemplate", "credlyorganization", "badgerequirement"])
def test_bulk_delete_refused_when_disabled(staff_client, settings, deletable_rows, section):
    row = deletable_rows[section]
    settings.BADGES_ENABLED = False
    response = staff_client.post(reverse(f"admin:badges_{section}_changelist"),
                                 {"action": "delete_selected", "post": "yes", "_selected_action": [row.pk]})
    assert response.status_code == 403
    assert type(row).objects.filter(pk=row.pk).exists()
