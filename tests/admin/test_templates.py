"""Credly template and Accredible group admin: sync-only, activation guard, delete guard."""
from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from badges.conf import COURSE_PASSING_STATUS_UPDATED
from badges.models import AccredibleGroup, BadgePenalty, BadgeRequirement, CredlyBadgeTemplate, RulebookVersion
from tests.admin.conftest import admin_url, page_errors, reload

pytestmark = pytest.mark.django_db

NO_REQUIREMENT = "cannot be active without at least one requirement"


@pytest.fixture(params=["credly", "accredible"])
def make_template(request, make_credly_template, make_accredible_group):
    """Each test below runs for a Credly template and for an Accredible group."""
    return make_credly_template if request.param == "credly" else make_accredible_group


def messages_of(response) -> str:
    return " ".join(str(message) for message in get_messages(response.wsgi_request))


def test_list_shows_account_state_and_escaped_image(staff_client, make_credly_template, credly_org):
    make_credly_template(name="Python Pro", icon='https://img.example/a.png?"><script>alert(1)</script>')
    response = staff_client.get(reverse("admin:badges_credlybadgetemplate_changelist"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Python Pro" in html
    assert credly_org.name in html
    assert "<script>alert(1)" not in html
    assert 'src="https://img.example/a.png?&quot;&gt;&lt;script&gt;' in html
    assert credly_org.api_key not in html


def test_accredible_list_shows_api_config(staff_client, make_accredible_group, accredible_config):
    make_accredible_group(name="Data Group", icon="https://img.example/g.png")
    html = staff_client.get(reverse("admin:badges_accrediblegroup_changelist")).content.decode()
    assert "Data Group" in html
    assert accredible_config.name in html
    assert '<img src="https://img.example/g.png"' in html
    assert accredible_config.api_key not in html


@pytest.mark.parametrize("model", [CredlyBadgeTemplate, AccredibleGroup])
def test_templates_cannot_be_added_by_hand(staff_client, model):
    changelist = staff_client.get(admin_url(model, "changelist"))
    assert changelist.status_code == 200
    assert admin_url(model, "add") not in changelist.content.decode()
    assert staff_client.get(admin_url(model, "add")).status_code == 403


def test_provider_fields_are_read_only(staff_client, edit_page, make_template):
    template = make_template(name="From provider", description="Synced")
    url, data = edit_page(template)
    data.update(name="Changed", description="Changed", state="archived")
    assert staff_client.post(url, data).status_code == 302
    template = reload(template)
    assert (template.name, template.description, template.state) == ("From provider", "Synced", "active")


def test_activation_without_requirement_is_refused_and_nothing_saved(staff_client, edit_page, make_template):
    template = make_template()
    version = RulebookVersion.current()
    url, data = edit_page(template)
    data["is_active"] = "on"
    response = staff_client.post(url, data)
    assert NO_REQUIREMENT in page_errors(response)
    assert reload(template).is_active is False
    assert RulebookVersion.current() == version


def test_activation_with_requirement_added_in_the_same_post(staff_client, edit_page, make_template):
    template = make_template()
    url, data = edit_page(template)
    data.update({"is_active": "on", "requirements-0-event_type": COURSE_PASSING_STATUS_UPDATED})
    response = staff_client.post(url, data)
    assert response.status_code == 302, page_errors(response)
    assert reload(template).is_active is True
    requirement = BadgeRequirement.objects.get(template=template)
    assert (requirement.event_type, requirement.group) == (COURSE_PASSING_STATUS_UPDATED, "A")


def test_activation_with_existing_requirement(staff_client, edit_page, make_template, add_requirement):
    template = make_template()
    add_requirement(template)
    url, data = edit_page(template)
    data["is_active"] = "on"
    response = staff_client.post(url, data)
    assert response.status_code == 302, page_errors(response)
    assert reload(template).is_active is True


def test_active_template_cannot_lose_its_last_requirement(staff_client, edit_page, make_template, add_requirement):
    template = make_template()
    requirement = add_requirement(template)
    template.is_active = True
    template.save()
    url, data = edit_page(template)
    data["requirements-0-DELETE"] = "on"
    response = staff_client.post(url, data)
    assert NO_REQUIREMENT in page_errors(response)
    assert BadgeRequirement.objects.filter(pk=requirement.pk).exists()


def test_deactivation_moves_the_rulebook_version(staff_client, edit_page, make_template, add_requirement):
    template = make_template()
    add_requirement(template)
    template.is_active = True
    template.save()
    version = RulebookVersion.current()
    url, data = edit_page(template)
    del data["is_active"]
    response = staff_client.post(url, data)
    assert response.status_code == 302, page_errors(response)
    assert reload(template).is_active is False
    assert RulebookVersion.current() != version
    assert "no longer processed" in messages_of(response)


def test_active_template_has_no_delete(staff_client, make_template, add_requirement):
    template = make_template()
    add_requirement(template)
    template.is_active = True
    template.save()
    change_page = staff_client.get(admin_url(template)).content.decode()
    assert admin_url(template, "delete") not in change_page
    assert staff_client.post(admin_url(template, "delete"), {"post": "yes"}).status_code == 403
    assert type(template).objects.filter(pk=template.pk).exists()


def test_inactive_template_can_be_deleted(staff_client, make_template):
    template = make_template()
    response = staff_client.post(admin_url(template, "delete"), {"post": "yes"})
    assert response.status_code == 302
    assert not type(template).objects.filter(pk=template.pk).exists()


def test_bulk_delete_skips_active_templates(staff_client, make_template, add_requirement):
    active = make_template(name="Live one")
    add_requirement(active)
    active.is_active = True
    active.save()
    inactive = make_template(name="Old one")
    model = type(active)
    version = RulebookVersion.current()
    selection = {"action": "delete_selected", "_selected_action": [active.pk, inactive.pk]}

    confirmation = staff_client.post(admin_url(model, "changelist"), selection)
    assert confirmation.status_code == 200
    assert "Not deleted (active; deactivate them first): Live one" in messages_of(confirmation)

    response = staff_client.post(admin_url(model, "changelist"), {**selection, "post": "yes"})
    assert response.status_code == 302
    assert list(model.objects.values_list("pk", flat=True)) == [active.pk]
    assert BadgeRequirement.objects.filter(template=active).exists()
    assert RulebookVersion.current() != version


def test_bulk_delete_of_only_active_templates_deletes_nothing(staff_client, make_template, add_requirement):
    active = make_template(name="Live one")
    add_requirement(active)
    active.is_active = True
    active.save()
    model = type(active)
    response = staff_client.post(
        admin_url(model, "changelist"),
        {"action": "delete_selected", "_selected_action": [active.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert "Not deleted" in messages_of(response)
    assert model.objects.filter(pk=active.pk).exists()


def test_change_page_shows_requirement_rules_with_link(staff_client, make_template, add_requirement):
    template = make_template()
    requirement = add_requirement(template, rules=[("is_passing", "eq", "true")])
    html = staff_client.get(admin_url(template)).content.decode()
    assert "is_passing = true" in html
    assert admin_url(requirement) in html


def template_with_rows(make_template, add_requirement, rows: int):
    """A template with ``rows`` requirements (each with a data rule) and ``rows`` penalties."""
    template = make_template()
    for _ in range(rows):
        requirement = add_requirement(template, rules=[("course.course_key", "eq", "course-v1:A+B+C")])
        penalty = BadgePenalty.objects.create(template=template, event_type=COURSE_PASSING_STATUS_UPDATED)
        penalty.requirements.add(requirement)
    return template


def test_change_page_queries_do_not_grow_with_requirements_and_penalties(
    staff_client, make_template, add_requirement, django_assert_max_num_queries
):
    one_each = admin_url(template_with_rows(make_template, add_requirement, 1))
    with CaptureQueriesContext(connection) as baseline:
        assert staff_client.get(one_each).status_code == 200
    ten_each = admin_url(template_with_rows(make_template, add_requirement, 10))
    with django_assert_max_num_queries(len(baseline)):
        response = staff_client.get(ten_each)
    assert response.status_code == 200
    assert response.content.decode().count("group J (") >= 1
