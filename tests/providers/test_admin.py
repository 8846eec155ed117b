"""Account admins: key validation before saving, write-only keys, sync actions and their permissions."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from badges.models import (
    AccredibleAPIConfig,
    AccredibleGroup,
    CredlyBadgeTemplate,
    CredlyOrganization,
    RulebookVersion,
)
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


KEY_WITH_CURLY_QUOTE = "pasted\u2019key"


@pytest.mark.parametrize("key", [KEY_WITH_CURLY_QUOTE, "non\u00a0breaking", "tab\tinside"])
def test_key_with_a_non_ascii_or_control_character_is_a_form_error(staff_client, mocked, key):
    org_id = uuid.uuid4()
    response = staff_client.post(f"{CREDLY_LIST}add/", {"uuid": str(org_id), "api_key": key})
    assert response.status_code == 200
    assert "printable ASCII" in response.content.decode()
    assert not CredlyOrganization.objects.exists()
    response = staff_client.post(f"{ACCREDIBLE_LIST}add/", {"name": "Acc", "api_key": key})
    assert response.status_code == 200
    assert "printable ASCII" in response.content.decode()
    assert not AccredibleAPIConfig.objects.exists()
    assert len(mocked.calls) == 0


def test_replacing_a_key_with_a_non_ascii_one_keeps_the_stored_key(staff_client, credly_org, mocked):
    response = staff_client.post(f"{CREDLY_LIST}{credly_org.pk}/change/", {"api_key": KEY_WITH_CURLY_QUOTE})
    assert response.status_code == 200
    assert "printable ASCII" in response.content.decode()
    credly_org.refresh_from_db()
    assert credly_org.api_key == "credly-secret-key"


class TestAccountDeletion:
    """An account's templates go with it, so one owning an active template is not deleted, and every
    delete moves the rulebook version."""

    def test_account_with_an_active_template_has_no_delete_page(
        self, staff_client, credly_org, accredible_config, make_credly_template, make_accredible_group
    ):
        make_credly_template(is_active=True)
        make_accredible_group(is_active=True)
        assert staff_client.get(f"{CREDLY_LIST}{credly_org.pk}/delete/").status_code == 403
        assert staff_client.post(f"{CREDLY_LIST}{credly_org.pk}/delete/", {"post": "yes"}).status_code == 403
        assert staff_client.post(f"{ACCREDIBLE_LIST}{accredible_config.pk}/delete/",
                                 {"post": "yes"}).status_code == 403
        assert CredlyOrganization.objects.filter(pk=credly_org.pk).exists()
        assert AccredibleAPIConfig.objects.filter(pk=accredible_config.pk).exists()
        assert CredlyBadgeTemplate.objects.filter(organization=credly_org, is_active=True).exists()

    def test_deleting_an_account_with_inactive_templates_bumps_the_rulebook(
        self, staff_client, credly_org, accredible_config, make_credly_template, make_accredible_group
    ):
        make_credly_template(is_active=False)
        make_accredible_group(is_active=False)
        for url in (f"{CREDLY_LIST}{credly_org.pk}/delete/", f"{ACCREDIBLE_LIST}{accredible_config.pk}/delete/"):
            before = RulebookVersion.current()
            assert staff_client.get(url).status_code == 200
            assert staff_client.post(url, {"post": "yes"}).status_code == 302
            assert RulebookVersion.current() != before
        assert not CredlyOrganization.objects.exists() and not AccredibleAPIConfig.objects.exists()
        assert not CredlyBadgeTemplate.objects.exists() and not AccredibleGroup.objects.exists()

    def test_bulk_delete_skips_accounts_with_active_templates_and_bumps_the_rulebook(
        self, staff_client, site, credly_org, make_credly_template
    ):
        make_credly_template(is_active=True)
        make_credly_template(is_active=True)
        idle = CredlyOrganization.objects.create(uuid=uuid.uuid4(), api_key="idle-key", name="Idle")
        CredlyBadgeTemplate.objects.create(site=site, organization=idle, uuid=uuid.uuid4(), name="Old",
                                           is_active=False)
        selection = {"action": "delete_selected", "_selected_action": [credly_org.pk, idle.pk]}
        confirm = staff_client.post(CREDLY_LIST, selection)
        assert confirm.status_code == 200
        warnings = [t for t in messages_of(confirm) if t.startswith("Not deleted")]
        assert len(warnings) == 1 and warnings[0].endswith(": Org."), warnings
        before = RulebookVersion.current()
        done = staff_client.post(CREDLY_LIST, {**selection, "post": "yes"}, follow=True)
        assert done.status_code == 200
        assert list(CredlyOrganization.objects.values_list("name", flat=True)) == ["Org"]
        assert CredlyBadgeTemplate.objects.filter(organization=credly_org).count() == 2
        assert not CredlyBadgeTemplate.objects.filter(name="Old").exists()
        assert RulebookVersion.current() != before

    def test_accredible_bulk_delete_skips_configs_with_active_groups(
        self, staff_client, accredible_config, make_accredible_group
    ):
        make_accredible_group(is_active=True)
        done = staff_client.post(ACCREDIBLE_LIST, {"action": "delete_selected", "post": "yes",
                                                   "_selected_action": [accredible_config.pk]}, follow=True)
        assert any("Not deleted" in t for t in messages_of(done))
        assert AccredibleAPIConfig.objects.filter(pk=accredible_config.pk).exists()


class TestCredlyKeyExpiry:
    """Credly tokens expire 180 days after creation: the admin tracks when a key was entered and warns
    30 days ahead."""

    @staticmethod
    def org_with_key_set(days_ago: int | None, name: str = "Org") -> CredlyOrganization:
        set_at = None if days_ago is None else timezone.now() - timedelta(days=days_ago)
        return CredlyOrganization.objects.create(uuid=uuid.uuid4(), api_key="some-key", name=name,
                                                 api_key_set_at=set_at)

    @staticmethod
    def column(org: CredlyOrganization) -> str:
        return str(admin.site._registry[CredlyOrganization].key_expires(org))

    @staticmethod
    def expiry_date(days_from_today: int) -> str:
        return (timezone.localdate() + timedelta(days=days_from_today)).isoformat()

    def test_fresh_key_shows_its_expiry_date_without_warning(self):
        assert self.column(self.org_with_key_set(10)) == self.expiry_date(170)

    def test_key_within_30_days_of_expiry_shows_a_warning(self):
        text = self.column(self.org_with_key_set(160))
        assert text == (f'{self.expiry_date(20)} <strong style="color: #ba2121;">\u26a0 expires in 20 days: '
                        "enter a new key</strong>")

    def test_expired_key_shows_a_warning(self):
        text = self.column(self.org_with_key_set(200))
        assert text.startswith(f"{self.expiry_date(-20)} <strong")
        assert "expired: enter a new key" in text

    def test_key_set_before_tracking_is_unknown(self):
        assert self.column(self.org_with_key_set(None)) == "unknown (set before tracking)"

    def test_preconfigured_org_says_key_from_settings(self, settings):
        org = self.org_with_key_set(200)
        settings.BADGES_CONFIG = {**settings.BADGES_CONFIG,
                                  "credly": {**settings.BADGES_CONFIG["credly"],
                                             "ORGANIZATIONS": {str(org.uuid): "key-from-settings"}}}
        assert self.column(org) == "key from settings"

    def test_column_is_in_the_list_page(self, staff_client):
        self.org_with_key_set(200)
        html = staff_client.get(CREDLY_LIST).content.decode()
        assert "Key expires" in html
        assert f'{self.expiry_date(-20)} <strong style="color: #ba2121;">' in html

    def test_adding_an_org_records_when_the_key_was_set(self, staff_client, mocked):
        org_id = uuid.uuid4()
        mocked.get(f"{CREDLY_API}organizations/{org_id}", json={"data": {"name": "Acme"}})
        before = timezone.now()
        assert staff_client.post(f"{CREDLY_LIST}add/", {"uuid": str(org_id), "api_key": "k1"}).status_code == 302
        set_at = CredlyOrganization.objects.get(uuid=org_id).api_key_set_at
        assert set_at is not None and before <= set_at <= timezone.now()

    @pytest.mark.parametrize("days_ago", [None, 100])
    def test_changing_the_key_records_when_it_was_set(self, staff_client, mocked, days_ago):
        org = self.org_with_key_set(days_ago)
        mocked.get(f"{CREDLY_API}organizations/{org.uuid}", json={"data": {"name": "Org"}})
        before = timezone.now()
        response = staff_client.post(f"{CREDLY_LIST}{org.pk}/change/", {"api_key": "replacement-key"})
        assert response.status_code == 302
        org.refresh_from_db()
        assert org.api_key == "replacement-key"
        assert before <= org.api_key_set_at <= timezone.now()

    @pytest.mark.parametrize("entered", ["", "some-key"])
    def test_blank_or_same_key_leaves_the_time_alone(self, staff_client, mocked, entered):
        org = self.org_with_key_set(100)
        original = org.api_key_set_at
        mocked.get(f"{CREDLY_API}organizations/{org.uuid}", json={"data": {"name": "Org"}})
        assert staff_client.post(f"{CREDLY_LIST}{org.pk}/change/", {"api_key": entered}).status_code == 302
        org.refresh_from_db()
        assert (org.api_key, org.api_key_set_at) == ("some-key", original)

    def test_changelist_warns_about_expiring_and_expired_keys_only(self, staff_client, settings):
        self.org_with_key_set(10, name="Fresh")
        self.org_with_key_set(None, name="Untracked")
        self.org_with_key_set(160, name="Soon")
        self.org_with_key_set(200, name="<b>Lapsed</b>")
        configured = self.org_with_key_set(300, name="Configured")
        settings.BADGES_CONFIG = {**settings.BADGES_CONFIG,
                                  "credly": {**settings.BADGES_CONFIG["credly"],
                                             "ORGANIZATIONS": {str(configured.uuid): "key-from-settings"}}}
        response = staff_client.get(CREDLY_LIST)
        warnings = [t for t in messages_of(response) if t.startswith("Credly keys expiring")]
        assert warnings == [
            f"Credly keys expiring within 30 days or already expired: <b>Lapsed</b> ({self.expiry_date(-20)}), "
            f"Soon ({self.expiry_date(20)}). Create a new authorization token at Credly and enter it on the "
            "organization's page."
        ]
        html = response.content.decode()
        assert "&lt;b&gt;Lapsed&lt;/b&gt; (" in html
        assert "<b>Lapsed</b>" not in html

    def test_no_warning_when_no_key_is_near_expiry(self, staff_client):
        self.org_with_key_set(10)
        response = staff_client.get(CREDLY_LIST)
        assert not [t for t in messages_of(response) if t.startswith("Credly keys expiring")]

    def test_changelist_queries_do_not_grow_with_expiring_orgs(self, staff_client):
        def changelist_queries() -> int:
            with CaptureQueriesContext(connection) as queries:
                assert staff_client.get(CREDLY_LIST).status_code == 200
            return len(queries)

        self.org_with_key_set(200, name="A")
        with_one = changelist_queries()
        for index in range(4):
            self.org_with_key_set(170 + index, name=f"B{index}")
        assert changelist_queries() == with_one


def test_sync_action_files_new_templates_under_the_site_of_the_request(staff_client, credly_org, mocked, settings):
    """A host serving several sites (no fixed SITE_ID) files synced templates under the operator's site."""
    from django.contrib.sites.models import Site

    del settings.SITE_ID
    settings.ALLOWED_HOSTS = ["*"]
    other = Site.objects.create(domain="learn.other.test", name="Other")
    template_id = str(uuid.uuid4())
    mocked.get(f"{CREDLY_API}organizations/{credly_org.uuid}/badge_templates",
               json=credly_page([credly_template(template_id)], 1, 1))
    staff_client.post(CREDLY_LIST, {"action": "sync_organization_badge_templates",
                                    "_selected_action": [credly_org.pk]}, HTTP_HOST="learn.other.test")
    assert CredlyBadgeTemplate.objects.get(uuid=template_id).site == other
