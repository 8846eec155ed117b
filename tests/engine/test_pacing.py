"""A grade release against the fake provider over HTTP with a rate limit: paced calls stay under it.

Celery runs eagerly here (no broker), so each task sleeps until its slot; the worker path, where
a longer wait re-queues the task instead, is the grade-release benchmark's
(``benchmarks/grade_release.py``).
"""
from __future__ import annotations

import pytest

from badges import issuing
from badges.models import CredlyBadge, CredlyBadgeTemplate, CredlyOrganization
from badges.testing.fake_provider import FakeProvider
from tests.engine.conftest import COURSE_A, learner, send_grade

pytestmark = pytest.mark.django_db(transaction=True)

LEARNERS = 12
PROVIDER_LIMIT = 4  # calls per one-second window at the fake provider


@pytest.fixture
def limited_credly(settings, site, add_requirement, activate):
    """The fake Credly over HTTP refusing more than PROVIDER_LIMIT calls a second; a template anyone passing A earns."""
    with FakeProvider() as fake:
        settings.BADGES_CONFIG = fake.badges_config()
        organization_id = fake.control.add_credly_organization(api_key="paced-key", name="Paced org")
        remote = fake.control.add_credly_template(organization_id, name="Paced badge", allow_duplicates=True)
        fake.control.set_rate_limit(PROVIDER_LIMIT, window=1.0)
        organization = CredlyOrganization.objects.create(uuid=organization_id, api_key="paced-key")
        template = CredlyBadgeTemplate.objects.create(site=site, organization=organization, uuid=remote["id"],
                                                      name="Paced badge")
        add_requirement(template, rules=[("course.course_key", "eq", COURSE_A), ("is_passing", "eq", "true")])
        activate(template)
        yield fake, organization


def rate_limited(fake) -> int:
    return sum(1 for call in fake.control.calls() if call["status"] == 429)


def test_a_paced_grade_release_issues_every_badge_once_without_429s(limited_credly, settings):
    fake, organization = limited_credly
    settings.BADGES_PROVIDER_RATE_LIMITS = {"credly": {"per_second": PROVIDER_LIMIT - 1, "burst": 1}}
    settings.BADGES_PROVIDER_PACING_MAX_SLEEP_SECONDS = 10

    for number in range(LEARNERS):
        send_grade(COURSE_A, user=learner(number))

    issued = fake.control.credly_badges(str(organization.uuid))
    assert rate_limited(fake) == 0
    assert len(issued) == LEARNERS and len({badge["recipient_email"] for badge in issued}) == LEARNERS
    assert CredlyBadge.objects.filter(external_uuid__isnull=False, issue_attempts=1).count() == LEARNERS


def test_a_429_pauses_the_whole_account_and_the_next_badge_waits_without_spending_an_attempt(limited_credly, settings):
    fake, _organization = limited_credly
    settings.BADGES_PROVIDER_RATE_LIMITS = {"credly": {"per_second": 100, "burst": 10}}
    fake.control.fail_next(1, status=429, retry_after=30, method="POST")

    send_grade(COURSE_A, user=learner(1))
    send_grade(COURSE_A, user=learner(2))

    first, second = CredlyBadge.objects.order_by("username")
    assert (first.state, first.issue_attempts) == ("no_response", 1)
    assert (second.state, second.issue_attempts, second.external_uuid) == ("created", 0, None)
    assert (second.next_attempt_at - second.modified).total_seconds() > 25  # the sweep leaves it until then
    assert [call["status"] for call in fake.control.calls()] == [429]

    result = issuing.sync_with_provider("credly", str(second.uuid))  # the sweep, too early: still paused
    assert result.slot_at is not None and result.retry_in > 25 and len(fake.control.calls()) == 1
