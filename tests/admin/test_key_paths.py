"""Key paths offered to data rules, derived from the openedx-events payload classes."""
from __future__ import annotations

from badges.admin.forms import rule_key_paths
from badges.conf import CCX_COURSE_PASSING_STATUS_UPDATED, COURSE_PASSING_STATUS_UPDATED


def test_course_passing_status_paths():
    paths = rule_key_paths(COURSE_PASSING_STATUS_UPDATED)
    assert {"is_passing", "course.course_key"} <= set(paths)
    assert paths["is_passing"] is bool
    assert not {"user.pii.email", "user.pii.username", "user.id", "course.display_name"} & set(paths)


def test_ccx_course_passing_status_paths():
    paths = rule_key_paths(CCX_COURSE_PASSING_STATUS_UPDATED)
    assert {
        "is_passing", "course.ccx_course_key", "course.master_course_key", "course.coach_email",
        "course.max_students_allowed",
    } <= set(paths)
    assert paths["course.max_students_allowed"] is int
    assert not {"user.pii.email", "course.display_name", "course.start"} & set(paths)


def test_ignored_keypaths_follow_settings(settings):
    settings.BADGES_CONFIG = {"rules": {"ignored_keypaths": ["is_passing"]}}
    paths = rule_key_paths(COURSE_PASSING_STATUS_UPDATED)
    assert "is_passing" not in paths
    assert "user.pii.email" in paths


def test_unconfigured_event_type_offers_nothing(settings):
    settings.BADGES_CONFIG = {"events": [COURSE_PASSING_STATUS_UPDATED]}
    assert rule_key_paths(CCX_COURSE_PASSING_STATUS_UPDATED) == {}
