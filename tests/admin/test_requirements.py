"""Requirement and penalty admin: event types, key paths, boolean spellings, same-template penalties."""
from __future__ import annotations

import pytest

from badges.conf import CCX_COURSE_PASSING_STATUS_UPDATED, COURSE_PASSING_STATUS_UPDATED
from badges.models import BadgePenalty, BadgeRequirement, DataRule, PenaltyDataRule, RulebookVersion
from badges.rules import FALSE_SPELLINGS, TRUE_SPELLINGS, parse_bool
from tests.admin.conftest import admin_url, page_errors

pytestmark = pytest.mark.django_db


@pytest.fixture
def requirement(make_credly_template, add_requirement) -> BadgeRequirement:
    return add_requirement(make_credly_template(name="Python Pro"))


@pytest.fixture
def penalty(requirement) -> BadgePenalty:
    penalty = BadgePenalty.objects.create(template=requirement.template, event_type=COURSE_PASSING_STATUS_UPDATED)
    penalty.requirements.add(requirement)
    return penalty


def offered_paths(response) -> set[str]:
    rule_form = response.context["inline_admin_formsets"][0].formset.forms[0]
    return {value for value, _label in rule_form.fields["data_path"].choices if value and isinstance(_label, str)} | {
        value for _group, options in rule_form.fields["data_path"].choices if isinstance(options, list)
        for value, _label in options
    }


def test_key_path_field_offers_only_the_event_types_paths(staff_client, requirement):
    response = staff_client.get(admin_url(requirement))
    assert response.status_code == 200
    assert offered_paths(response) == {"is_passing", "course.course_key"}


def test_ccx_requirement_offers_ccx_paths(staff_client, make_credly_template, add_requirement):
    ccx = add_requirement(make_credly_template(), event_type=CCX_COURSE_PASSING_STATUS_UPDATED)
    paths = offered_paths(staff_client.get(admin_url(ccx)))
    assert {"is_passing", "course.ccx_course_key", "course.master_course_key", "course.coach_email"} <= paths
    assert "course.course_key" not in paths
    assert "user.pii.email" not in paths


@pytest.mark.parametrize(
    "data_path",
    ["user.pii.email", "course.ccx_course_key", "no.such.path"],
    ids=["ignored", "other-event-type", "unknown"],
)
def test_key_path_not_of_the_event_type_is_rejected(staff_client, edit_page, requirement, data_path):
    url, data = edit_page(requirement)
    data.update({"rules-0-data_path": data_path, "rules-0-operator": "eq", "rules-0-value": "x"})
    response = staff_client.post(url, data)
    assert data_path in page_errors(response)
    assert not DataRule.objects.exists()


def test_changing_event_type_revalidates_existing_rules(staff_client, edit_page, make_credly_template,
                                                        add_requirement):
    requirement = add_requirement(
        make_credly_template(), rules=[("course.course_key", "eq", "course-v1:Org+C+R")]
    )
    url, data = edit_page(requirement)
    data["event_type"] = CCX_COURSE_PASSING_STATUS_UPDATED
    response = staff_client.post(url, data)
    assert f'"course.course_key" is not a key path of {CCX_COURSE_PASSING_STATUS_UPDATED}' in page_errors(response)
    requirement.refresh_from_db()
    assert requirement.event_type == COURSE_PASSING_STATUS_UPDATED


def test_valid_rule_is_saved_and_moves_the_version(staff_client, edit_page, requirement):
    version = RulebookVersion.current()
    url, data = edit_page(requirement)
    data.update({"rules-0-data_path": "course.course_key", "rules-0-operator": "ne",
                 "rules-0-value": "course-v1:Org+Course+Run"})
    response = staff_client.post(url, data)
    assert response.status_code == 302, page_errors(response)
    rule = DataRule.objects.get(requirement=requirement)
    assert str(rule) == "course.course_key != course-v1:Org+Course+Run"
    assert RulebookVersion.current() != version


def test_course_key_value_must_parse(staff_client, edit_page, requirement):
    url, data = edit_page(requirement)
    data.update({"rules-0-data_path": "course.course_key", "rules-0-operator": "eq", "rules-0-value": "not a key"})
    assert "Not a valid CourseKey" in page_errors(staff_client.post(url, data))


@pytest.mark.parametrize("spelling", TRUE_SPELLINGS + FALSE_SPELLINGS)
def test_boolean_path_accepts_documented_spellings(staff_client, edit_page, requirement, spelling):
    url, data = edit_page(requirement)
    data.update({"rules-0-data_path": "is_passing", "rules-0-operator": "eq", "rules-0-value": spelling})
    response = staff_client.post(url, data)
    assert response.status_code == 302, page_errors(response)
    assert DataRule.objects.get(requirement=requirement).value == spelling


@pytest.mark.parametrize("spelling", ["1", "0", "TRUE", "y", "passed", "true!"])
def test_boolean_path_rejects_other_spellings(staff_client, edit_page, requirement, spelling):
    url, data = edit_page(requirement)
    data.update({"rules-0-data_path": "is_passing", "rules-0-operator": "eq", "rules-0-value": spelling})
    response = staff_client.post(url, data)
    assert "true True yes Yes + / false False no No -" in page_errors(response)
    assert not DataRule.objects.exists()


def test_parse_bool_spellings():
    assert [parse_bool(s) for s in TRUE_SPELLINGS] == [True] * 5
    assert [parse_bool(s) for s in FALSE_SPELLINGS] == [False] * 5
    assert parse_bool("TRUE") is None
    assert parse_bool("1") is None


def test_integer_path_rejects_non_numbers(staff_client, edit_page, make_credly_template, add_requirement):
    ccx = add_requirement(make_credly_template(), event_type=CCX_COURSE_PASSING_STATUS_UPDATED)
    url, data = edit_page(ccx)
    data.update({"rules-0-data_path": "course.max_students_allowed", "rules-0-operator": "eq",
                 "rules-0-value": "many"})
    assert "whole number" in page_errors(staff_client.post(url, data))


def test_event_type_must_be_configured(staff_client, edit_page, requirement):
    url, data = edit_page(requirement)
    data["event_type"] = "org.openedx.learning.student.registration.completed.v1"
    assert "Select a valid choice" in page_errors(staff_client.post(url, data))


def test_added_requirement_takes_next_free_group(staff_client, edit_page, requirement):
    url, data = edit_page(BadgeRequirement, "add")
    data.update({"template": str(requirement.template.pk), "event_type": COURSE_PASSING_STATUS_UPDATED,
                 "rules-0-data_path": "is_passing", "rules-0-value": "yes"})
    response = staff_client.post(url, data)
    assert response.status_code == 302, page_errors(response)
    added = BadgeRequirement.objects.exclude(pk=requirement.pk).get()
    assert added.group == "B"
    assert added.rules.get().value == "yes"


def test_requirement_of_active_template_is_not_deletable_here(staff_client, requirement):
    template = requirement.template
    template.is_active = True
    template.save()
    assert staff_client.post(admin_url(requirement, "delete"), {"post": "yes"}).status_code == 403
    response = staff_client.post(
        admin_url(BadgeRequirement, "changelist"),
        {"action": "delete_selected", "_selected_action": [requirement.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert BadgeRequirement.objects.filter(pk=requirement.pk).exists()


def test_penalty_offers_only_its_templates_requirements(staff_client, penalty, make_credly_template,
                                                        add_requirement):
    other = add_requirement(make_credly_template(name="Other"))
    response = staff_client.get(admin_url(penalty))
    assert response.status_code == 200
    offered = response.context["adminform"].form.fields["requirements"].queryset
    assert list(offered) == [penalty.requirements.get()]
    assert other not in offered


def test_penalty_cannot_link_another_templates_requirement(staff_client, edit_page, penalty, make_credly_template,
                                                           add_requirement):
    other = add_requirement(make_credly_template(name="Other"))
    url, data = edit_page(penalty)
    data["requirements"] = [str(other.pk)]
    response = staff_client.post(url, data)
    assert "Select a valid choice" in page_errors(response)
    assert list(penalty.requirements.all()) != [other]


def test_new_penalty_with_another_templates_requirement_is_refused(staff_client, edit_page, requirement,
                                                                   make_credly_template, add_requirement):
    other = add_requirement(make_credly_template(name="Other"))
    url, data = edit_page(BadgePenalty, "add")
    data.update({"template": str(requirement.template.pk), "event_type": COURSE_PASSING_STATUS_UPDATED,
                 "requirements": [str(requirement.pk), str(other.pk)]})
    response = staff_client.post(url, data)
    assert "only take back requirements of its own template" in page_errors(response)
    assert not BadgePenalty.objects.exists()


def test_template_page_penalty_inline_rejects_foreign_requirement(staff_client, edit_page, penalty,
                                                                  make_credly_template, add_requirement):
    other = add_requirement(make_credly_template(name="Other"))
    url, data = edit_page(penalty.template)
    data["penalties-0-requirements"] = [str(other.pk)]
    response = staff_client.post(url, data)
    assert "Select a valid choice" in page_errors(response)
    assert list(penalty.requirements.all()) == [BadgeRequirement.objects.get(template=penalty.template)]


def test_penalty_rules_are_validated_and_saved(staff_client, edit_page, penalty):
    url, data = edit_page(penalty)
    data.update({"rules-0-data_path": "is_passing", "rules-0-operator": "eq", "rules-0-value": "maybe"})
    assert "true True yes Yes +" in page_errors(staff_client.post(url, data))
    data["rules-0-value"] = "false"
    response = staff_client.post(url, data)
    assert response.status_code == 302, page_errors(response)
    assert str(PenaltyDataRule.objects.get(penalty=penalty)) == "is_passing = false"


def test_penalty_requirements_change_moves_the_version(staff_client, edit_page, penalty, add_requirement):
    second = add_requirement(penalty.template)
    version = RulebookVersion.current()
    url, data = edit_page(penalty)
    data["requirements"] = [str(second.pk)]
    response = staff_client.post(url, data)
    assert response.status_code == 302, page_errors(response)
    assert list(penalty.requirements.all()) == [second]
    assert RulebookVersion.current() != version


@pytest.mark.parametrize("view", ["changelist", "add"])
@pytest.mark.parametrize("model", [BadgeRequirement, BadgePenalty])
def test_pages_open(staff_client, model, view, penalty):
    assert staff_client.get(admin_url(model, view)).status_code == 200
