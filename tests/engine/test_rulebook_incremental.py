"""A configuration change reloads only the templates it touched, and the result is what a full
rebuild gives: each case warms the cache for two event types, changes the configuration as the
admin does, and compares the incrementally updated rulebooks with rulebooks loaded from scratch."""
from __future__ import annotations

import dataclasses

import pytest
from django.contrib import admin
from django.db import transaction
from openedx_events.learning.signals import COURSE_PASSING_STATUS_UPDATED

from badges import rulebook
from badges.admin.requirements import BadgeRequirementAdmin
from badges.models import (
    BadgeRequirement,
    BadgeTemplate,
    DataRule,
    PenaltyDataRule,
    RulebookChange,
    RulebookVersion,
)
from badges.rulebook import current_rulebook, load_rulebook

from .conftest import COURSE_A, COURSE_B, COURSE_C

GRADE = COURSE_PASSING_STATUS_UPDATED.event_type
OTHER = "org.openedx.learning.ccx.course.passing.status.updated.v1"
EVENT_TYPES = (GRADE, OTHER)
PAYLOADS = [
    {"course": {"course_key": course}, "is_passing": passing, "grade": {"letter": letter}}
    for course in (COURSE_A, COURSE_B, COURSE_C) for passing in (True, False) for letter in ("A", "F")
] + [{}, {"is_passing": True}]

pytestmark = pytest.mark.django_db


class RolledBack(Exception):
    pass


def snapshot() -> rulebook.ReloadCounts:
    return dataclasses.replace(rulebook.reload_counts)


def assert_same_as_full_rebuild(*, incremental: bool = True) -> None:
    """The cached rulebooks, refreshed by the next events, equal freshly loaded ones."""
    before = snapshot()
    refreshed = {event_type: current_rulebook(event_type) for event_type in EVENT_TYPES}
    after = snapshot()
    if incremental:
        assert (after.full_loads, after.incremental_updates) == (before.full_loads, before.incremental_updates + 1)
    else:
        assert after.full_loads == before.full_loads + len(EVENT_TYPES)
    for event_type, book in refreshed.items():
        full = load_rulebook(event_type, book.version)
        assert dict(book.templates) == dict(full.templates)
        assert book.requirements.items() == full.requirements.items()
        assert book.penalties.items() == full.penalties.items()
        for payload in PAYLOADS:
            assert set(book.requirements.matching(payload)) == set(full.requirements.matching(payload)), payload
            assert set(book.penalties.matching(payload)) == set(full.penalties.matching(payload)), payload


def warm() -> None:
    for event_type in EVENT_TYPES:
        current_rulebook(event_type)


@pytest.fixture
def configured(make_credly_template, add_requirement, activate, add_penalty):
    """Three active templates (one with a penalty, one also on the other event type) and an inactive one."""
    templates = []
    for number, course in enumerate((COURSE_A, COURSE_B, COURSE_C)):
        template = make_credly_template(name=f"T{number}")
        first = add_requirement(template, event_type=GRADE,
                                rules=[("course.course_key", "eq", course), ("is_passing", "eq", "true")])
        add_requirement(template, event_type=GRADE, rules=[("grade.letter", "ne", "F")])
        templates.append(activate(template))
        if number == 0:
            add_penalty(template, [first], rules=[("course.course_key", "eq", course), ("is_passing", "eq", "false")])
        if number == 1:
            add_requirement(template, event_type=OTHER, rules=[("course.course_key", "eq", course)])
            template.save()
    make_credly_template(name="Inactive")
    warm()
    return templates


def test_a_requirement_added_on_another_event_type(configured, add_requirement):
    add_requirement(configured[2], event_type=OTHER, rules=[("is_passing", "eq", "yes")])
    assert_same_as_full_rebuild()
    assert configured[2].pk in current_rulebook(OTHER).templates


def test_a_requirement_removed(configured):
    BadgeRequirement.objects.filter(template=configured[1], event_type=OTHER).get().delete()
    assert_same_as_full_rebuild()
    assert configured[1].pk not in current_rulebook(OTHER).templates


def test_a_data_rule_changed(configured):
    rule = DataRule.objects.filter(requirement__template=configured[0], data_path="grade.letter").get()
    rule.operator, rule.value = "eq", "A"
    rule.save()
    assert_same_as_full_rebuild()


def test_a_template_deactivated_then_activated(configured):
    configured[1].is_active = False
    configured[1].save()
    assert_same_as_full_rebuild()
    assert all(configured[1].pk not in current_rulebook(event_type).templates for event_type in EVENT_TYPES)
    configured[1].is_active = True
    configured[1].save()
    assert_same_as_full_rebuild()
    assert all(configured[1].pk in current_rulebook(event_type).templates for event_type in EVENT_TYPES)


def test_a_template_deleted(configured):
    BadgeTemplate.objects.get(pk=configured[1].pk).delete()
    assert_same_as_full_rebuild()


def test_a_penalty_changed_and_unlinked(configured):
    penalty = configured[0].penalties.get()
    PenaltyDataRule.objects.create(penalty=penalty, data_path="grade.letter", operator="eq", value="F")
    assert_same_as_full_rebuild()
    penalty.requirements.clear()
    configured[0].save()  # M2M writes bump no version by themselves
    assert_same_as_full_rebuild()
    penalty.delete()
    assert_same_as_full_rebuild()


def test_an_admin_bulk_delete(configured, rf):
    queryset = BadgeRequirement.objects.filter(template__in=configured[:2], event_type=GRADE,
                                               rules__data_path="grade.letter")
    BadgeRequirementAdmin(BadgeRequirement, admin.site).delete_queryset(rf.post("/"), queryset)
    assert_same_as_full_rebuild()


def test_several_changes_are_followed_in_one_refresh(configured, add_requirement):
    add_requirement(configured[0], event_type=OTHER, rules=[("is_passing", "eq", "true")])
    configured[2].is_active = False
    configured[2].save()
    DataRule.objects.filter(requirement__template=configured[1], value=COURSE_B).update(value=COURSE_C)
    RulebookVersion.bump([configured[1].pk])
    assert_same_as_full_rebuild()


def test_a_change_that_names_no_templates_rebuilds_everything(configured):
    DataRule.objects.filter(requirement__template=configured[0], value=COURSE_A).update(value=COURSE_C)
    RulebookVersion.bump()
    assert_same_as_full_rebuild(incremental=False)


@pytest.mark.django_db(transaction=True)
def test_a_change_seen_inside_a_rolled_back_transaction_is_not_kept(configured, add_requirement):
    with pytest.raises(RolledBack), transaction.atomic():
        add_requirement(configured[2], event_type=OTHER, rules=[("is_passing", "eq", "true")])
        current_rulebook(OTHER)  # updated incrementally from rows that never commit
        assert configured[2].pk in current_rulebook(OTHER).templates
        raise RolledBack
    assert configured[2].pk not in current_rulebook(OTHER).templates
    warm()
    configured[0].is_active = False  # a later change: the log now leads elsewhere than where the cache was
    configured[0].save()
    assert_same_as_full_rebuild()
    assert configured[2].pk not in current_rulebook(OTHER).templates


def test_a_process_behind_the_pruned_log_rebuilds_everything(configured, monkeypatch):
    monkeypatch.setattr(RulebookChange, "KEPT", 2)
    monkeypatch.setattr(RulebookChange, "PRUNE_EVERY", 1)
    for template in configured:
        template.save()
    assert RulebookChange.objects.count() == 2  # the change this process is at is gone
    assert_same_as_full_rebuild(incremental=False)
    configured[1].save()
    assert_same_as_full_rebuild()
