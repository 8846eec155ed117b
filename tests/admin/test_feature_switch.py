"""``BADGES_ENABLED`` off hides the badge sections of the admin."""
from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

SECTIONS = ("credlybadgetemplate", "accrediblegroup", "badgerequirement", "badgepenalty", "badgeprogress")


def badge_models_on_index(client) -> set[str]:
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return {
        model["object_name"].lower()
        for app in response.context["app_list"] if app["app_label"] == "badges"
        for model in app["models"]
    }


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
