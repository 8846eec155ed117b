"""Account admins: key validation before saving, write-only keys, sync actions and their permissions."""
from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages

from badges.models import AccredibleAPIConfig, AccredibleGroup, CredlyBadgeTemplate, CredlyOrganization
from tests.providers.conftest import ACCREDIBLE_API, CREDLY_API, accredible_page, credly_page, credly_template

pytestmark = pytest.mark.django_db

CREDLY_LIST = "/admin/badges/credlyorganization/"
ACCREDIBLE_LIST = "/admin/badges/accredibleapiconfig/"


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_adding_credly_org_with_bad_key_is_a_form_error_and_saves_nothing(staff_client, mocked):
    org_id = uuid.uuid4()
    mocked.get(f"{CREDLY_API}organizations/{org_id}", status=401, json={"data": {"message": "Unauthorized"}})
    response = staff_client.post(f"{CREDLY_LIST}add/", {"uuid": str(org_id), "api_key": "wrong-secret-key"})
    assert response.status_code == 200
    assert "Credly rejected these credentials" in response.content.decode()
    assert "wrong-secret-key" not in response.content.decode()
    assert not CredlyOrganization.objects.exists()


def test_adding_credly_org_with_unknown_uuid_is_a_form_error(staff_client, mocked):
    org_id = uuid.uuid4()
    mocked.get(f"{CREDLY_API}organizations/{org_id}", status=404, json={"data": {"message": "Not found"}})
    response = staff_client.post(f"{CREDLY_LIST}add/", {"uuid": str(org_id), "api_key": "some-key"})
    assert "HTTP 404" in response.content.decode()
    assert not CredlyOrganization.objects.exists()


def test_unreachable_provider_is_a_form_error(staff_client, mocked):
    org_id = uuid.uuid4()
    mocked.get(f"{CREDLY_API}organizations/{org_id}", status=503, body="down")
    response = staff_client.post(f"{CREDLY_LIST}add/", {"uuid": str(org_id), "api_key": "some-key"})
    assert "could not be reached" in response.content.decode()
    assert not CredlyOrganization.objects.exists()


def test_adding_credly_org_fills_name_and_key_is_write_only(staff_client, mocked):
    org_id = uuid.uuid4()
    mocked.get(f"{CREDLY_API}organizations/{org_id}", json={"data": {"id": str(org_id), "name": "Acme Academy"}})
    response = staff_client.post(f"{CREDLY_LIST}add/", {"uuid": str(org_id), "api_key": "the-real-secret-key"})
    assert response.status_code == 302
    org = CredlyOrganization.objects.get(uuid=org_id)
    assert (org.name, org.api_key) == ("Acme Academy", "the-real-secret-key")
    for page in (CREDLY_LIST, f"{CREDLY_LIST}{org.pk}/change/", f"{CREDLY_LIST}{org.pk}/history/"):
        html = staff_client.get(page).content.decode()
        assert "Acme Academy" in html
        assert "the-real-secret-key" not in html


def test_blank_key_on_change_keeps_the_stored_key(staff_client, credly_org, mocked):
    mocked.get(f"{CREDLY_API}organizations/{credly_org.uuid}", json={"data": {"name": "Renamed at Credly"}})
    response = staff_client.post(f"{CREDLY_LIST}{credly_org.pk}/change/", {"api_key": ""})
    assert response.status_code == 302
    credly_org.refresh_from_db()
    assert (credly_org.api_key, credly_org.name) == ("credly-secret-key", "Renamed at Credly")
    assert mocked.calls[0].request.headers["Authorization"].startswith("Basic ")


def test_preconfigured_org_takes_key_from_settings_and_form_says_so(staff_client, settings, mocked):
    org_id = uuid.uuid4()
    settings.BADGES_CONFIG = {**settings.BADGES_CONFIG,
                              "credly": {"CREDLY_API_BASE_URL": CREDLY_API,
                                         "ORGANIZATIONS": {str(org_id): "key-from-settings"}}}
    mocked.get(f"{CREDLY_API}organizations/{org_id}", json={"data": {"name": "Configured Org"}})
    response = staff_client.post(f"{CREDLY_LIST}add/", {"uuid": str(org_id), "api_key": ""})
    assert response.status_code == 302
    org = CredlyOrganization.objects.get(uuid=org_id)
    assert (org.name, org.api_key) == ("Configured Org", "")
    html = staff_client.get(f"{CREDLY_LIST}{org.pk}/change/").content.decode()
    assert "Taken from BADGES_CONFIG" in html
    assert 'name="api_key"' not in html
    assert "key-from-settings" not in html


def test_accredible_config_key_validated_and_write_only(staff_client, mocked):
    mocked.get(f"{ACCREDIBLE_API}issuer/details", status=401, body="HTTP Token: Access denied.")
    response = staff_client.post(f"{ACCREDIBLE_LIST}add/", {"name": "Main", "api_key": "bad-accredible-key"})
    assert "Accredible rejected these credentials" in response.content.decode()
    assert not AccredibleAPIConfig.objects.exists()
    mocked.replace("GET", f"{ACCREDIBLE_API}issuer/details", json={"issuer": {"name": "Acme"}})
    response = staff_client.post(f"{ACCREDIBLE_LIST}add/", {"name": "Main", "api_key": "good-accredible-key"})
    assert response.status_code == 302
    config = AccredibleAPIConfig.objects.get()
    assert config.api_key == "good-accredible-key"
    html = staff_client.get(f"{ACCREDIBLE_LIST}{config.pk}/change/").content.decode()
    assert 'name="api_key"' in html
    assert "good-accredible-key" not in html
    response = staff_client.post(f"{ACCREDIBLE_LIST}{config.pk}/change/", {"name": "Renamed", "api_key": ""})
    assert response.status_code == 302
    config.refresh_from_db()
    assert (config.name, config.api_key) == ("Renamed", "good-accredible-key")


def test_credly_sync_action_reports_each_org_and_continues_after_a_failure(staff_client, credly_org, mocked):
    broken = CredlyOrganization.objects.create(uuid=uuid.uuid4(), api_key="revoked-key", name="Broken")
    mocked.get(f"{CREDLY_API}organizations/{broken.uuid}/badge_templates", status=401,
               json={"data": {"message": "Unauthorized"}})
    template_id = str(uuid.uuid4())
    mocked.get(f"{CREDLY_API}organizations/{credly_org.uuid}/badge_templates",
               json=credly_page([credly_template(template_id)], 1, 1))
    response = staff_client.post(CREDLY_LIST, {"action": "sync_organization_badge_templates",
                                               "_selected_action": [broken.pk, credly_org.pk]}, follow=True)
    texts = messages_of(response)
    assert any("Broken: sync failed" in t and "HTTP 401" in t for t in texts), texts
    assert any("Org: 1 created, 0 updated, 0 deactivated" in t for t in texts), texts
    assert not any("revoked-key" in t for t in texts)
    assert CredlyBadgeTemplate.objects.get(uuid=template_id).is_active is False


def test_accredible_sync_action(staff_client, accredible_config, mocked):
    mocked.get(f"{ACCREDIBLE_API}issuer/all_groups", json=accredible_page([{"id": 8, "name": "Eight"}], 1, 1))
    response = staff_client.post(ACCREDIBLE_LIST, {"action": "sync_groups",
                                                   "_selected_action": [accredible_config.pk]}, follow=True)
    assert any("1 created" in t for t in messages_of(response))
    assert AccredibleGroup.objects.get(external_id=8).is_active is False


def test_sync_actions_need_change_permission(client, django_user_model, credly_org, mocked):
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_credlyorganization"))
    client.force_login(viewer)
    page = client.get(CREDLY_LIST)
    assert page.status_code == 200
    assert "sync_organization_badge_templates" not in page.content.decode()
    client.post(CREDLY_LIST, {"action": "sync_organization_badge_templates",
                              "_selected_action": [credly_org.pk]})
    assert len(mocked.calls) == 0
    assert not CredlyBadgeTemplate.objects.exists()
