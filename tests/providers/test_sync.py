"""Template/group sync rules against a real database, with the provider mocked (``responses``)."""
from __future__ import annotations

import uuid

import pytest

from badges import sync as sync_module
from badges.models import (
    AccredibleAPIConfig,
    AccredibleGroup,
    BadgeProgress,
    BadgeRequirement,
    BadgeTemplate,
    CredlyBadgeTemplate,
    RulebookVersion,
)
from badges.providers.base import ProviderError, RemoteTemplate
from badges.providers.registry import provider_for_account, provider_for_template, template_external_id
from badges.sync import (
    deactivate_template,
    sync_accredible_api_config,
    sync_credly_organization,
    sync_each,
    upsert_credly_template,
)
from tests.providers.conftest import ACCREDIBLE_API, CREDLY_API, accredible_page, credly_page, credly_template

pytestmark = pytest.mark.django_db


def mock_credly_templates(mocked, org, templates):
    mocked.get(f"{CREDLY_API}organizations/{org.uuid}/badge_templates", json=credly_page(templates, 1, 1))


def mock_accredible_groups(mocked, groups):
    mocked.get(f"{ACCREDIBLE_API}issuer/all_groups", json=accredible_page(groups, 1, 1))


def test_new_templates_arrive_inactive_with_provider_fields(credly_org, site, mocked):
    template_id = str(uuid.uuid4())
    mock_credly_templates(mocked, credly_org, [credly_template(template_id, "Python Basics")])
    result = sync_credly_organization(credly_org)
    assert (result.created, result.updated, result.deactivated) == (1, 0, 0)
    template = CredlyBadgeTemplate.objects.get(uuid=template_id)
    assert template.is_active is False
    assert (template.name, template.description, template.state) == ("Python Basics", "Python Basics description",
                                                                     "active")
    assert template.icon == f"https://img.test/{template_id}.png"
    assert template.organization == credly_org
    assert template.site == site


def test_existing_template_is_updated_and_keeps_activation_requirements_and_progress(
    credly_org, make_credly_template, add_requirement, mocked, django_user_model
):
    template = make_credly_template(name="Old name", is_active=False)
    requirement = add_requirement(template)
    template.is_active = True
    template.save()
    BadgeProgress.objects.create(template=template, username="ada")
    mock_credly_templates(mocked, credly_org, [credly_template(str(template.uuid), "New name")])
    before = RulebookVersion.current()
    result = sync_credly_organization(credly_org)
    assert (result.created, result.updated, result.deactivated) == (0, 1, 0)
    template.refresh_from_db()
    assert template.name == "New name"
    assert template.is_active is True
    assert BadgeRequirement.objects.filter(pk=requirement.pk).exists()
    assert BadgeProgress.objects.filter(template=template).count() == 1
    assert RulebookVersion.current() != before


def test_unchanged_template_counts_nothing(credly_org, make_credly_template, mocked):
    template = make_credly_template(name="Same", description="Same description", icon="https://img.test/same.png")
    remote = credly_template(str(template.uuid), "Same")
    remote.update(description="Same description", image_url="https://img.test/same.png")
    mock_credly_templates(mocked, credly_org, [remote])
    result = sync_credly_organization(credly_org)
    assert (result.created, result.updated, result.deactivated) == (0, 0, 0)


def test_template_gone_from_the_active_list_is_archived_and_deactivated(
    credly_org, make_credly_template, add_requirement, mocked
):
    gone = make_credly_template(name="Gone")
    add_requirement(gone)
    gone.is_active = True
    gone.save()
    BadgeProgress.objects.create(template=gone, username="ada")
    already_archived = make_credly_template(name="Archived before", state="archived", is_active=False)
    mock_credly_templates(mocked, credly_org, [])
    result = sync_credly_organization(credly_org)
    assert (result.created, result.updated, result.deactivated) == (0, 0, 1)
    gone.refresh_from_db()
    assert (gone.state, gone.is_active) == ("archived", False)
    assert gone.requirements.count() == 1
    assert BadgeProgress.objects.filter(template=gone).exists()
    already_archived.refresh_from_db()
    assert already_archived.state == "archived"


def test_upsert_with_archived_state_deactivates(credly_org, make_credly_template, add_requirement, site):
    template = make_credly_template()
    add_requirement(template)
    template.is_active = True
    template.save()
    remote = RemoteTemplate(external_id=str(template.uuid), name="X", description="", state="archived",
                            image_url="")
    updated, created = upsert_credly_template(credly_org, remote, site)
    assert created is False
    updated.refresh_from_db()
    assert (updated.state, updated.is_active) == ("archived", False)
    new_remote = RemoteTemplate(external_id=str(uuid.uuid4()), name="New", description="d", state="active",
                                image_url="https://img.test/n.png")
    new, created = upsert_credly_template(credly_org, new_remote, site)
    assert created is True
    assert new.is_active is False
    assert CredlyBadgeTemplate.objects.filter(uuid=new_remote.external_id, name="New").exists()


def test_deactivate_template(make_credly_template, add_requirement):
    template = make_credly_template()
    add_requirement(template)
    template.is_active = True
    template.save()
    before = RulebookVersion.current()
    assert deactivate_template(template, "archived") is True
    template.refresh_from_db()
    assert (template.state, template.is_active) == ("archived", False)
    assert RulebookVersion.current() != before
    assert deactivate_template(template, "archived") is False


def test_listing_failure_changes_nothing(credly_org, make_credly_template, mocked):
    template = make_credly_template(name="Keep")
    mocked.get(f"{CREDLY_API}organizations/{credly_org.uuid}/badge_templates",
               json=credly_page([credly_template(str(uuid.uuid4()))], 1, 2))
    mocked.get(f"{CREDLY_API}organizations/{credly_org.uuid}/badge_templates", status=401,
               json={"data": {"message": "Unauthorized"}})
    with pytest.raises(ProviderError):
        sync_credly_organization(credly_org)
    assert list(CredlyBadgeTemplate.objects.all()) == [template]
    template.refresh_from_db()
    assert template.state == "active"


def test_accredible_sync_touches_only_its_own_config(accredible_config, site, mocked):
    other = AccredibleAPIConfig.objects.create(name="Other", api_key="other-key")
    other_group = AccredibleGroup.objects.create(site=site, api_config=other, external_id=500, name="Other",
                                                 state="active")
    shared_id = AccredibleGroup.objects.create(site=site, api_config=other, external_id=11, name="Other 11",
                                               state="active")
    vanished = AccredibleGroup.objects.create(site=site, api_config=accredible_config, external_id=99,
                                              name="Vanished", state="active")
    mock_accredible_groups(mocked, [{"id": 11, "name": "Eleven", "course_description": "C11",
                                     "primary_design_id": None}])
    result = sync_accredible_api_config(accredible_config)
    assert (result.created, result.updated, result.deactivated) == (1, 0, 1)
    mine = AccredibleGroup.objects.get(api_config=accredible_config, external_id=11)
    assert (mine.name, mine.description, mine.is_active) == ("Eleven", "C11", False)
    vanished.refresh_from_db()
    assert (vanished.state, vanished.is_active) == ("archived", False)
    for untouched in (other_group, shared_id):
        before = (untouched.name, untouched.state, untouched.modified)
        untouched.refresh_from_db()
        assert (untouched.name, untouched.state, untouched.modified) == before
    assert mocked.calls[0].request.headers["Authorization"] == "Token token=accredible-secret-key"


def test_sync_each_reports_failures_and_continues(credly_org, accredible_config, mocked):
    mocked.get(f"{CREDLY_API}organizations/{credly_org.uuid}/badge_templates", status=401,
               json={"data": {"message": "Unauthorized"}})
    mock_accredible_groups(mocked, [{"id": 3, "name": "Three"}])
    outcomes = sync_each([credly_org, accredible_config])
    assert [o.ok for o in outcomes] == [False, True]
    assert "HTTP 401" in outcomes[0].error
    assert "credly-secret-key" not in outcomes[0].error
    assert outcomes[1].result.created == 1


def test_registry_resolves_providers_by_origin(credly_org, make_credly_template, make_accredible_group):
    credly_template_row = make_credly_template()
    group = make_accredible_group(external_id=321)
    base_row = credly_template_row.badgetemplate_ptr
    provider = provider_for_template(base_row)
    assert provider.origin == "credly"
    assert provider.organization_id == str(credly_org.uuid)
    assert template_external_id(base_row) == str(credly_template_row.uuid)
    assert provider_for_template(group.badgetemplate_ptr).origin == "accredible"
    assert template_external_id(group) == "321"
    assert provider_for_account(group.api_config).origin == "accredible"
    with pytest.raises(TypeError):
        provider_for_account(object())


class TestOperatorChangesDuringASync:
    """The operator's ``is_active`` change made while a sync runs (after it read the rows) is kept.

    ``apply_remote`` runs between the sync's read of the templates and its writes, so wrapping it
    to change the row first plays an operator's admin save committed in that window.
    """

    @pytest.fixture
    def operator_sets_is_active(self, monkeypatch):
        def during_sync(template: CredlyBadgeTemplate, value: bool) -> None:
            original = sync_module.apply_remote

            def apply_after_the_operator(target, remote):
                if target.pk == template.pk:
                    BadgeTemplate.objects.filter(pk=template.pk).update(is_active=value)
                return original(target, remote)

            monkeypatch.setattr(sync_module, "apply_remote", apply_after_the_operator)

        return during_sync

    @pytest.fixture
    def active_template(self, make_credly_template, add_requirement):
        template = make_credly_template(name="Old name")
        add_requirement(template)
        template.is_active = True
        template.save()
        return template

    def test_sync_keeps_a_deactivation_made_after_it_read_the_templates(
        self, credly_org, active_template, mocked, operator_sets_is_active
    ):
        mock_credly_templates(mocked, credly_org, [credly_template(str(active_template.uuid), "New name")])
        operator_sets_is_active(active_template, False)
        sync_credly_organization(credly_org)
        active_template.refresh_from_db()
        assert (active_template.name, active_template.is_active) == ("New name", False)

    def test_sync_deactivates_a_withdrawn_template_activated_after_it_read_the_templates(
        self, credly_org, make_credly_template, add_requirement, mocked, operator_sets_is_active
    ):
        template = make_credly_template(name="Soon archived", is_active=False)
        add_requirement(template)
        mock_credly_templates(mocked, credly_org, [credly_template(str(template.uuid), "Soon archived",
                                                                   state="archived")])
        operator_sets_is_active(template, True)
        before = RulebookVersion.current()
        result = sync_credly_organization(credly_org)
        template.refresh_from_db()
        assert (template.state, template.is_active) == ("archived", False)
        assert result.deactivated == 1
        assert RulebookVersion.current() != before

    def test_webhook_upsert_keeps_a_deactivation_made_after_it_read_the_template(
        self, credly_org, active_template, site, operator_sets_is_active
    ):
        remote = RemoteTemplate(external_id=str(active_template.uuid), name="New name", description="",
                                state="active", image_url="")
        operator_sets_is_active(active_template, False)
        upsert_credly_template(credly_org, remote, site)
        active_template.refresh_from_db()
        assert (active_template.name, active_template.is_active) == ("New name", False)

    def test_deactivation_alone_bumps_the_rulebook(self, credly_org, active_template, site):
        remote = RemoteTemplate(external_id=str(active_template.uuid), name="Old name", description="",
                                state="archived", image_url="")
        CredlyBadgeTemplate.objects.filter(pk=active_template.pk).update(state="archived")
        before = RulebookVersion.current()
        upsert_credly_template(credly_org, remote, site)
        active_template.refresh_from_db()
        assert active_template.is_active is False
        assert RulebookVersion.current() != before


def test_sync_query_count_does_not_grow_with_the_templates_it_updates(
    credly_org, make_credly_template, mocked, django_assert_max_num_queries
):
    templates = [make_credly_template(name=f"T{n}") for n in range(20)]
    listing = [credly_template(str(t.uuid), f"Renamed {n}", state="archived" if n % 2 else "active")
               for n, t in enumerate(templates)]
    mock_credly_templates(mocked, credly_org, listing)
    with django_assert_max_num_queries(9):  # the rulebook change: the version row, its read-back, the log row
        result = sync_credly_organization(credly_org)
    assert (result.updated, result.deactivated) == (10, 10)
