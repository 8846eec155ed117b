"""BADGES_CONFIG defaults, partial overrides and the system checks that reject broken values."""
import pytest
from django.test import override_settings

from badges.conf import (
    COURSE_PASSING_STATUS_UPDATED,
    badges_config,
    check_badges_config,
    preconfigured_credly_keys,
    provider_urls,
)


def error_ids(config):
    with override_settings(BADGES_CONFIG=config):
        return [(e.id, e.msg) for e in check_badges_config()]


def test_partial_config_keeps_the_other_defaults():
    with override_settings(BADGES_CONFIG={"events": [COURSE_PASSING_STATUS_UPDATED], "credly": {"USE_SANDBOX": True}}):
        config = badges_config()
        assert config["events"] == [COURSE_PASSING_STATUS_UPDATED]
        assert config["credly"]["CREDLY_API_BASE_URL"] == "https://api.credly.com/v1/"
        assert "user.pii.email" in config["rules"]["ignored_keypaths"]
        assert provider_urls("credly")["api"] == "https://sandbox-api.credly.com/v1/"
        assert provider_urls("accredible")["api"] == "https://api.accredible.com/v1/"


def test_defaults_pass_the_checks():
    assert error_ids({}) == []


@pytest.mark.parametrize(
    ("config", "expected_id", "fragment"),
    [
        ([], "badges.E010", "BADGES_CONFIG must be a dict"),
        (None, "badges.E010", "BADGES_CONFIG must be a dict, got NoneType"),
        ({"evnts": []}, "badges.E001", "unknown key"),
        ({"events": "org.openedx.learning.course.passing.status.updated.v1"}, "badges.E002", "list"),
        ({"events": ["org.openedx.nope.v1"]}, "badges.E003", "unknown event type"),
        ({"events": ["org.openedx.content_authoring.course.catalog_info.changed.v1"]}, "badges.E003", "UserData"),
        ({"credly": {"CREDLY_API_BASE_URL": "api.credly.com"}}, "badges.E004", "CREDLY_API_BASE_URL"),
        ({"accredible": {"ACCREDIBLE_API_BASE_URL": "https://x.test/v1"}}, "badges.E004", "end with"),
        ({"credly": {"USE_SANDBOX": "yes"}}, "badges.E005", "USE_SANDBOX"),
        ({"credly": {"ORGANIZATIONS": {"not-a-uuid": "key"}}}, "badges.E006", "ORGANIZATIONS"),
        ({"rules": {"ignored_keypaths": "user.id"}}, "badges.E007", "ignored_keypaths"),
        ({"credly": "https://api.credly.com/v1/"}, "badges.E001", '"credly" must be a dict'),
    ],
)
def test_broken_config_is_rejected_with_a_clear_message(config, expected_id, fragment):
    errors = error_ids(config)
    assert any(error_id == expected_id and fragment in msg for error_id, msg in errors), errors


def test_preconfigured_keys_are_looked_up_case_insensitively():
    org = "A1B2C3D4-0000-4000-8000-000000000001"
    with override_settings(BADGES_CONFIG={"credly": {"ORGANIZATIONS": {org: "secret"}}}):
        assert preconfigured_credly_keys() == {org.lower(): "secret"}
