"""Every admin page the operator documentation names opens for a staff account, with data in it."""
from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType

from badges.models import AccredibleBadge, AccredibleGroup, BadgeProgress, CredlyBadge, CredlyBadgeTemplate

pytestmark = pytest.mark.django_db

DOCUMENTED_PAGES = (
    "credlyorganization",
    "credlybadgetemplate",
    "accredibleapiconfig",
    "accrediblegroup",
    "badgeprogress",
    "credlybadge",
    "accrediblebadge",
)


@pytest.fixture
def populated(make_credly_template, make_accredible_group, add_requirement):
    template = make_credly_template(name="Python Basics")
    group = make_accredible_group(name="Data Group")
    requirement = add_requirement(template, rules=[("is_passing", "eq", "true")])
    progress = BadgeProgress.objects.create(username="ann", template=template)
    progress.fulfillments.create(requirement=requirement)
    CredlyBadge.objects.create(
        credential_content_type=ContentType.objects.get_for_model(CredlyBadgeTemplate),
        credential_id=template.pk,
        username="ann",
    )
    AccredibleBadge.objects.create(
        credential_content_type=ContentType.objects.get_for_model(AccredibleGroup),
        credential_id=group.pk,
        username="ann",
    )


@pytest.mark.parametrize("model", DOCUMENTED_PAGES)
def test_documented_list_and_change_pages_open(staff_client, populated, model):
    listing = staff_client.get(f"/admin/badges/{model}/")
    assert listing.status_code == 200
    objects = listing.context["cl"].result_list
    assert len(objects) >= 1
    change = staff_client.get(f"/admin/badges/{model}/{objects[0].pk}/change/")
    assert change.status_code == 200


def test_admin_index_lists_every_documented_section(staff_client, populated):
    response = staff_client.get("/admin/")
    listed = {m["object_name"].lower() for app in response.context["app_list"] for m in app["models"]}
    assert set(DOCUMENTED_PAGES) <= listed
