"""Open Badges fixtures: an issuer with a key, an achievement with two requirement groups."""
from __future__ import annotations

import pytest

from badges.models import OpenBadgeAchievement, OpenBadgeIssuer
from badges.openbadges import signing
from tests.engine.conftest import COURSE_A, COURSE_B, add_penalty, fresh_rulebook_cache, public_events  # noqa: F401

BASE_URL = "https://credentials.example.org"


@pytest.fixture
def issuer(site) -> OpenBadgeIssuer:
    made = OpenBadgeIssuer.objects.create(site=site, name="Example University", url="https://example.org/",
                                          email="badges@example.org", image="https://example.org/logo.png",
                                          public_base_url=BASE_URL)
    signing.generate_key(made)
    return made


@pytest.fixture
def make_achievement(site, issuer, add_requirement):
    """An active achievement earned by passing course A and course B (two groups)."""

    def make(**fields) -> OpenBadgeAchievement:
        fields.setdefault("name", "Data Analysis")
        achievement = OpenBadgeAchievement.objects.create(
            site=site, issuer=issuer, description="Analyses data.", criteria="Pass courses A and B.",
            icon="https://example.org/badge.png", tags="data, analysis", state=OpenBadgeAchievement.State.ACTIVE,
            **fields)
        add_requirement(achievement, rules=[("is_passing", "eq", "true"), ("course.course_key", "eq", COURSE_A)])
        add_requirement(achievement, rules=[("is_passing", "eq", "true"), ("course.course_key", "eq", COURSE_B)])
        achievement.is_active = True
        achievement.save()
        return achievement

    return make
