"""End to end: admin account forms and sync actions against the fake provider over real HTTP."""
from __future__ import annotations

import time

import pytest
from django.contrib.messages import get_messages
from django.test import override_settings

from badges.models import AccredibleAPIConfig, AccredibleGroup, CredlyBadgeTemplate, CredlyOrganization
from badges.testing.fake_provider import FakeProvider

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

CREDLY_KEY = "e2e-credly-token"
FAST = {"attempts": 4, "backoff": 0.05, "max_backoff": 0.2, "max_retry_after": 2.0, "connect_timeout": 2.0,
        "read_timeout": 0.5}


@pytest.fixture
def fake():
    with FakeProvider() as server, override_settings(BADGES_CONFIG=server.badges_config(),
                                                     BADGES_PROVIDER_HTTP=FAST):
        yield server


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def run_action(client, url: str, action: str, pks: list[int]) -> list[str]:
    response = client.post(url, {"action": action, "_selected_action": pks}, follow=True)
    assert response.status_code == 200
    return messages_of(response)


def test_credly_org_added_and_templates_synced_inactive_across_pages(staff_client, fake):
    control = fake.control
    org_id = control.add_credly_organization(api_key=CREDLY_KEY, name="Fake Academy")
    control.set_page_size(2)
    ids = [control.add_credly_template(org_id, name=f"Badge {n}", description=f"About {n}")["id"] for n in range(5)]
    control.add_credly_template(org_id, name="Draft one", state="draft")

    response = staff_client.post("/admin/badges/credlyorganization/add/", {"uuid": org_id, "api_key": "wrong"})
    assert "Credly rejected these credentials" in response.content.decode()
    assert not CredlyOrganization.objects.exists()
    response = staff_client.post("/admin/badges/credlyorganization/add/", {"uuid": org_id, "api_key": CREDLY_KEY},
                                 follow=True)
    assert response.redirect_chain[0][1] == 302
    org = CredlyOrganization.objects.get()
    assert org.name == "Fake Academy"

    texts = run_action(staff_client, "/admin/badges/credlyorganization/", "sync_organization_badge_templates",
                       [org.pk])
    assert texts == ["Fake Academy: 5 created, 0 updated, 0 deactivated"]
    templates = CredlyBadgeTemplate.objects.filter(organization=org).order_by("name")
    assert sorted(str(t.uuid) for t in templates) == sorted(ids)
    assert all(not t.is_active and t.state == "active" for t in templates)
    list_calls = [c for c in control.calls() if c["path"].endswith("/badge_templates")]
    assert [c["query"]["page"] for c in list_calls] == ["1", "2", "3"]

    control.update_credly_template(org_id, ids[0], state="archived")
    control.delete_credly_template(org_id, ids[1])
    control.update_credly_template(org_id, ids[2], name="Badge 2 renamed")
    texts = run_action(staff_client, "/admin/badges/credlyorganization/", "sync_organization_badge_templates",
                       [org.pk])
    assert texts == ["Fake Academy: 0 created, 1 updated, 2 deactivated"]
    assert {str(t.uuid): t.state for t in CredlyBadgeTemplate.objects.filter(state="archived")} == {
        ids[0]: "archived", ids[1]: "archived"}


def test_sync_rides_out_5xx_429_and_a_timeout(staff_client, fake):
    control = fake.control
    org_id = control.add_credly_organization(api_key=CREDLY_KEY, name="Flaky")
    control.add_credly_template(org_id, name="Only one")
    org = CredlyOrganization.objects.create(uuid=org_id, api_key=CREDLY_KEY, name="Flaky")
    control.fail_next(1, status=503, path="/badge_templates")
    control.fail_next(1, status=429, retry_after=1, path="/badge_templates")
    control.fail_next(1, delay=1.0, path="/badge_templates")
    started = time.monotonic()
    texts = run_action(staff_client, "/admin/badges/credlyorganization/", "sync_organization_badge_templates",
                       [org.pk])
    assert texts == ["Flaky: 1 created, 0 updated, 0 deactivated"]
    assert time.monotonic() - started >= 1.0, "Retry-After: 1 must be honoured"
    statuses = [c["status"] for c in control.calls() if c["path"].endswith("/badge_templates")]
    assert statuses[:2] == [503, 429]
    assert len(statuses) == 4


def test_sync_failure_is_reported_per_item(staff_client, fake):
    control = fake.control
    good_id = control.add_credly_organization(api_key=CREDLY_KEY, name="Good")
    control.add_credly_template(good_id, name="T")
    bad_id = control.add_credly_organization(api_key="other-key", name="Bad")
    good = CredlyOrganization.objects.create(uuid=good_id, api_key=CREDLY_KEY, name="Good")
    bad = CredlyOrganization.objects.create(uuid=bad_id, api_key="stale-key", name="Bad")
    texts = run_action(staff_client, "/admin/badges/credlyorganization/", "sync_organization_badge_templates",
                       [bad.pk, good.pk])
    assert "Good: 1 created, 0 updated, 0 deactivated" in texts
    assert any(t.startswith("Bad: sync failed") and "HTTP 401" in t for t in texts), texts
    assert not any("stale-key" in t for t in texts)


def test_accredible_groups_synced_per_config(staff_client, fake):
    control = fake.control
    control.set_page_size(2)
    control.add_accredible_account(api_key="acc-key-a", name="Issuer A")
    control.add_accredible_account(api_key="acc-key-b", name="Issuer B")
    groups_a = [control.add_accredible_group(api_key="acc-key-a", name=f"A{n}", course_description=f"Course A{n}",
                                             image_url=f"https://img.test/a{n}.png") for n in range(5)]
    control.add_accredible_group(api_key="acc-key-b", name="B0")

    response = staff_client.post("/admin/badges/accredibleapiconfig/add/", {"name": "A", "api_key": "nope"})
    assert "Accredible rejected these credentials" in response.content.decode()
    assert not AccredibleAPIConfig.objects.exists()
    for name, key in (("A", "acc-key-a"), ("B", "acc-key-b")):
        response = staff_client.post("/admin/badges/accredibleapiconfig/add/", {"name": name, "api_key": key},
                                     follow=True)
        assert response.redirect_chain[0][1] == 302
    config_a, config_b = AccredibleAPIConfig.objects.order_by("name")

    texts = run_action(staff_client, "/admin/badges/accredibleapiconfig/", "sync_groups", [config_a.pk])
    assert texts == ["A: 5 created, 0 updated, 0 deactivated"]
    synced = AccredibleGroup.objects.filter(api_config=config_a).order_by("external_id")
    assert [g.external_id for g in synced] == [g["id"] for g in groups_a]
    assert synced[4].icon == "https://img.test/a4.png"
    assert synced[4].description == "Course A4"
    assert all(not g.is_active for g in synced)
    assert not AccredibleGroup.objects.filter(api_config=config_b).exists()

    texts = run_action(staff_client, "/admin/badges/accredibleapiconfig/", "sync_groups", [config_b.pk])
    assert texts == ["B: 1 created, 0 updated, 0 deactivated"]
    control.delete_accredible_group(groups_a[0]["id"])
    texts = run_action(staff_client, "/admin/badges/accredibleapiconfig/", "sync_groups", [config_a.pk])
    assert texts == ["A: 0 created, 0 updated, 1 deactivated"]
    assert AccredibleGroup.objects.get(external_id=groups_a[0]["id"]).state == "archived"
    assert AccredibleGroup.objects.filter(api_config=config_b, state="active").count() == 1
