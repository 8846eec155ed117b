"""The admin pages in the operator documentation's words, with its guard rails.

Groups are letters A-Z (a new row starts in the next free one), operators read ``=``/``!=``, the
key path is called so, saving a requirement or penalty returns to its template, a penalty's
requirement picker tells requirements apart, the template links to the provider's dashboard, and
activating a template whose requirement or penalty has no data rule warns the operator.
"""
from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from badges.conf import COURSE_PASSING_STATUS_UPDATED
from badges.models import BadgePenalty, BadgeRequirement, CredlyWebhookEvent
from tests.admin.conftest import admin_url, page_errors

pytestmark = pytest.mark.django_db


def messages_of(response) -> str:
    return " ".join(str(message) for message in get_messages(response.wsgi_request))


def test_new_requirement_row_offers_letters_and_starts_in_the_next_free_group(
    staff_client, make_credly_template, add_requirement
):
    template = make_credly_template()
    add_requirement(template, group="A", rules=[("is_passing", "eq", "true")])
    add_requirement(template, group="B", rules=[("is_passing", "eq", "true")])
    response = staff_client.get(admin_url(template))
    [requirements] = [f.formset for f in response.context["inline_admin_formsets"]
                      if f.formset.model is BadgeRequirement]
    blank = requirements.forms[-1]
    assert blank.instance.pk is None
    assert blank["group"].value() == "C"
    letters = [value for value, _ in blank.fields["group"].choices if value]
    assert letters[0] == "A" and letters[-1] == "Z" and len(letters) == 26


def test_rule_form_says_key_path_and_operators_as_symbols(staff_client, make_credly_template, add_requirement):
    requirement = add_requirement(make_credly_template(), rules=[("is_passing", "ne", "false")])
    html = staff_client.get(admin_url(requirement)).content.decode()
    assert "Key path" in html
    assert "Data path" not in html
    assert '<option value="eq">=</option>' in html
    assert '<option value="ne" selected>!=</option>' in html


def test_saving_a_requirement_or_penalty_returns_to_its_template(
    staff_client, edit_page, make_credly_template, add_requirement
):
    template = make_credly_template()
    requirement = add_requirement(template, rules=[("is_passing", "eq", "true")])
    url, data = edit_page(requirement)
    response = staff_client.post(url, data)
    assert response.status_code == 302, page_errors(response)
    assert response["Location"] == admin_url(template)
    penalty = BadgePenalty.objects.create(template=template, event_type=COURSE_PASSING_STATUS_UPDATED)
    url, data = edit_page(penalty)
    data["requirements"] = [str(requirement.pk)]
    response = staff_client.post(url, data)
    assert response.status_code == 302, page_errors(response)
    assert response["Location"] == admin_url(template)
    url, data = edit_page(requirement)
    data["_continue"] = "1"
    assert staff_client.post(url, data)["Location"] == admin_url(requirement)


def test_penalty_picker_tells_requirements_of_the_same_group_apart(
    staff_client, make_credly_template, add_requirement
):
    template = make_credly_template()
    add_requirement(template, group="B", rules=[("course.course_key", "eq", "course-v1:X+Advanced+1")])
    add_requirement(template, group="B", rules=[("course.course_key", "eq", "course-v1:X+Capstone+1")])
    penalty = BadgePenalty.objects.create(template=template, event_type=COURSE_PASSING_STATUS_UPDATED)
    response = staff_client.get(admin_url(penalty))
    labels = [label for _, label in response.context["adminform"].form.fields["requirements"].choices]
    assert len(labels) == 2
    assert len(set(labels)) == 2, labels
    assert all(label.startswith("group B: course.course_key = course-v1:X+") for label in labels)


def test_template_links_to_the_provider_dashboard(staff_client, make_credly_template, settings):
    settings.BADGES_CONFIG = {"credly": {"CREDLY_BASE_URL": "https://credly.example/"}}
    template = make_credly_template()
    html = staff_client.get(admin_url(template)).content.decode()
    expected = (f"https://credly.example/mgmt/organizations/{template.organization.uuid}"
                f"/badges/templates/{template.uuid}/details")
    assert expected in html
    assert expected in staff_client.get(admin_url(type(template), "changelist")).content.decode()


@pytest.mark.parametrize("row", ["requirement", "penalty"])
def test_activating_with_a_rule_less_row_warns(staff_client, edit_page, make_credly_template, add_requirement,
                                               row):
    template = make_credly_template(is_active=False)
    requirement = add_requirement(template, rules=[] if row == "requirement" else [("is_passing", "eq", "true")])
    if row == "penalty":
        BadgePenalty.objects.create(template=template, event_type=COURSE_PASSING_STATUS_UPDATED).requirements.add(
            requirement)
    url, data = edit_page(template)
    data["is_active"] = "on"
    response = staff_client.post(url, data)
    assert response.status_code == 302, page_errors(response)
    text = messages_of(response)
    expected = "even a failing grade" if row == "requirement" else "impossible to earn"
    assert "has no data rule" in text and expected in text, text


def test_activating_with_rules_everywhere_does_not_warn(staff_client, edit_page, make_credly_template,
                                                       add_requirement):
    template = make_credly_template(is_active=False)
    add_requirement(template, rules=[("is_passing", "eq", "true")])
    url, data = edit_page(template)
    data["is_active"] = "on"
    response = staff_client.post(url, data)
    assert response.status_code == 302, page_errors(response)
    assert "no data rule" not in messages_of(response)


def test_webhook_events_list_has_a_notes_column(staff_client, credly_org):
    import uuid

    CredlyWebhookEvent.objects.create(event_id=uuid.uuid4(), organization=credly_org, event_type="badge.updated",
                                      status="applied", error="Template 'Python' (x) updated (active).")
    response = staff_client.get(admin_url(CredlyWebhookEvent, "changelist"))
    html = response.content.decode()
    assert "column-notes" in html and "column-error" not in html
    assert "Template &#x27;Python&#x27;" in html
