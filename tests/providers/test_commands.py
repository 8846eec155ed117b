"""The sync management commands: per-account report and a failing exit status when any sync failed."""
from __future__ import annotations

import io
import uuid

import pytest
from django.contrib.sites.models import Site
from django.core.management import CommandError, call_command

from badges.models import AccredibleAPIConfig, AccredibleGroup, CredlyBadgeTemplate, CredlyOrganization
from tests.providers.conftest import ACCREDIBLE_API, CREDLY_API, accredible_page, credly_page, credly_template

pytestmark = pytest.mark.django_db


def run(name: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_credly_command_syncs_one_organization_onto_a_site(credly_org, mocked):
    other_site = Site.objects.create(domain="other.test", name="Other")
    CredlyOrganization.objects.create(uuid=uuid.uuid4(), api_key="k2", name="Not selected")
    template_id = str(uuid.uuid4())
    mocked.get(f"{CREDLY_API}organizations/{credly_org.uuid}/badge_templates",
               json=credly_page([credly_template(template_id)], 1, 1))
    out, _ = run("sync_organization_badge_templates", "--organization_id", str(credly_org.uuid),
                 "--site_id", str(other_site.pk))
    assert "Org: 1 created, 0 updated, 0 deactivated" in out
    assert CredlyBadgeTemplate.objects.get(uuid=template_id).site == other_site
    assert len(mocked.calls) == 1


def test_credly_command_fails_when_any_organization_failed(credly_org, mocked):
    broken = CredlyOrganization.objects.create(uuid=uuid.uuid4(), api_key="k2", name="Broken")
    mocked.get(f"{CREDLY_API}organizations/{credly_org.uuid}/badge_templates", json=credly_page([], 1, 1))
    mocked.get(f"{CREDLY_API}organizations/{broken.uuid}/badge_templates", status=500, body="boom")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 of 2 sync"):
        call_command("sync_organization_badge_templates", stdout=out, stderr=err)
    assert "Org: 0 created" in out.getvalue()
    assert "Broken: sync failed" in err.getvalue()


@pytest.mark.parametrize("args, message", [
    (["--organization_id", "not-a-uuid"], "is not a UUID"),
    (["--organization_id", "00000000-0000-0000-0000-000000000001"], "No Credly organization"),
    (["--site_id", "999"], "No site with ID 999"),
])
def test_credly_command_rejects_bad_arguments(db, args, message):
    with pytest.raises(CommandError, match=message):
        run("sync_organization_badge_templates", *args)


def test_accredible_command(accredible_config, mocked):
    second = AccredibleAPIConfig.objects.create(name="Second", api_key="second-key")
    mocked.get(f"{ACCREDIBLE_API}issuer/all_groups", json=accredible_page([{"id": 4, "name": "Four"}], 1, 1))
    out, _ = run("sync_accredible_groups", "--api_config_id", str(second.pk))
    assert "Second: 1 created" in out
    assert AccredibleGroup.objects.get(external_id=4).api_config == second
    with pytest.raises(CommandError, match="No Accredible API config"):
        run("sync_accredible_groups", "--api_config_id", "999")


def test_accredible_command_exit_status_on_failure(accredible_config, mocked):
    mocked.get(f"{ACCREDIBLE_API}issuer/all_groups", status=401, body="HTTP Token: Access denied.")
    with pytest.raises(CommandError, match="1 of 1 sync"):
        run("sync_accredible_groups")


def test_scheduled_task_syncs_every_account(credly_org, accredible_config, mocked):
    from badges.tasks.sync import sync_all_provider_accounts

    mocked.get(f"{CREDLY_API}organizations/{credly_org.uuid}/badge_templates", status=401, json={})
    mocked.get(f"{ACCREDIBLE_API}issuer/all_groups", json=accredible_page([{"id": 5, "name": "Five"}], 1, 1))
    assert sync_all_provider_accounts.delay().get() == {"succeeded": 1, "failed": 1}
    assert AccredibleGroup.objects.filter(external_id=5).exists()
