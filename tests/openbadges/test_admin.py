"""The operator's admin: issuer with generated keys, rotation, achievements created by hand."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse

from badges.models import OpenBadge, OpenBadgeAchievement, OpenBadgeIssuer, OpenBadgeSigningKey, RulebookVersion
from badges.openbadges import store
from tests.admin.conftest import admin_url, page_errors
from tests.engine.conftest import COURSE_A, COURSE_B, send_grade

pytestmark = pytest.mark.django_db


def test_adding_an_issuer_generates_its_signing_key_stored_encrypted_and_never_shown(staff_client, site):
    response = staff_client.post(admin_url(OpenBadgeIssuer, "add"), {
        "name": "Example University", "site": site.pk, "url": "https://example.org/",
        "email": "badges@example.org", "image": "", "public_base_url": "https://credentials.example.org",
        "keys-TOTAL_FORMS": "0", "keys-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302, page_errors(response)
    issuer = OpenBadgeIssuer.objects.get()
    (key,) = issuer.keys.all()
    assert key.private_key.startswith("-----BEGIN PRIVATE KEY-----")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT private_key FROM {OpenBadgeSigningKey._meta.db_table}")  # noqa: S608
        (stored,) = cursor.fetchone()
    assert "PRIVATE KEY" not in stored

    page = staff_client.get(admin_url(issuer)).content.decode()
    assert key.kid in page and issuer.jwks_url in page
    assert key.private_key.splitlines()[1] not in page and "private" not in page.lower()


def test_rotate_action_adds_a_key_and_retires_the_old_one(staff_client, issuer):
    (old,) = issuer.keys.all()
    response = staff_client.post(admin_url(OpenBadgeIssuer, "changelist"), {
        "action": "rotate_signing_key", "_selected_action": [issuer.pk]})
    assert response.status_code == 302
    old.refresh_from_db()
    new = issuer.keys.get(retired_at__isnull=True)
    assert old.retired_at is not None and new != old
    assert [key["kid"].rsplit("/", 2)[-2] for key in staff_client.get(issuer.jwks_url.split(".org", 1)[1]).json()[
        "keys"]] == [old.kid, new.kid]


def test_rotate_needs_the_change_permission(client, django_user_model, issuer):
    viewer = django_user_model.objects.create_user("viewer", "viewer@example.com", "password", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_openbadgeissuer"))
    client.force_login(viewer)
    response = client.post(admin_url(OpenBadgeIssuer, "changelist"), {
        "action": "rotate_signing_key", "_selected_action": [issuer.pk]})
    assert response.status_code in (200, 403)
    assert issuer.keys.count() == 1


def test_achievement_is_created_in_the_admin_and_takes_part_in_rules(staff_client, issuer, site):
    version = RulebookVersion.current()
    response = staff_client.post(admin_url(OpenBadgeAchievement, "add"), {
        "issuer": issuer.pk, "site": site.pk, "name": "Data Analysis", "description": "Analyses data.",
        "criteria": "Pass course A.", "icon": "https://example.org/badge.png", "tags": "data, analysis",
        "valid_days": "", "state": "active", "is_active": "on",
        "requirements-TOTAL_FORMS": "1", "requirements-INITIAL_FORMS": "0",
        "requirements-0-group": "", "requirements-0-event_type":
            "org.openedx.learning.course.passing.status.updated.v1", "requirements-0-description": "",
        "penalties-TOTAL_FORMS": "0", "penalties-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302, page_errors(response)
    achievement = OpenBadgeAchievement.objects.get()
    assert (achievement.origin, achievement.is_active, achievement.tag_list) == (
        "openbadges", True, ["data", "analysis"])
    assert achievement.requirements.count() == 1
    assert RulebookVersion.current() != version
    listing = staff_client.get(admin_url(OpenBadgeAchievement, "changelist")).content.decode()
    assert reverse("admin:badges_openbadgeachievement_change", args=[achievement.pk]) in listing
    assert achievement.achievement_id in listing


@pytest.mark.django_db(transaction=True)
def test_awarded_badge_page_links_the_learners_url(staff_client, make_achievement):
    make_achievement()
    send_grade(COURSE_A)
    send_grade(COURSE_B)
    badge = OpenBadge.objects.get()
    credential_url = store.credential_url(OpenBadgeIssuer.objects.get(), badge.credential_uuid)
    assert credential_url in staff_client.get(admin_url(badge)).content.decode()
