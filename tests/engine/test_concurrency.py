"""Two consumers handling events of the same learner at the same moment (PostgreSQL, MariaDB).

Each thread has its own database connection, so the two transactions really overlap; a barrier
starts them together. Without row locks the first scenario loses a fulfillment (each sees only
its own) and the second creates two badges; with them, one badge and one provider call.
"""
from __future__ import annotations

import time

import pytest
from openedx_events.learning.signals import COURSE_PASSING_STATUS_UPDATED

from badges import issuing
from badges.models import CredlyBadge, Fulfillment, ReceivedEvent
from tests.concurrency import race
from tests.engine.conftest import COURSE_A, COURSE_B, COURSE_C, learner, passing_status, send_grade

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("real_concurrency")]
ROUNDS = 6


def test_the_last_two_groups_completed_at_once_award_one_badge(two_group_template, add_requirement, provider):
    template = two_group_template[0]
    add_requirement(template, group="C", rules=[("course.course_key", "eq", COURSE_C)])
    for number in range(ROUNDS):
        user = learner(number)
        send_grade(COURSE_C, user=user)  # the progress row exists: only its lock orders the two transactions
        race(lambda user=user: send_grade(COURSE_A, user=user), lambda user=user: send_grade(COURSE_B, user=user))
    assert Fulfillment.objects.count() == 3 * ROUNDS
    assert CredlyBadge.objects.count() == ROUNDS
    assert sorted(username for _template, username in provider.issued) == sorted(
        f"learner{number}" for number in range(ROUNDS))


def test_alternatives_completing_at_once_award_one_badge_and_call_the_provider_once(
        make_credly_template, add_requirement, activate, provider):
    template = make_credly_template()
    add_requirement(template, group="A", rules=[("course.course_key", "eq", COURSE_A)])
    add_requirement(template, group="A", rules=[("course.course_key", "eq", COURSE_B)])
    activate(template)
    for number in range(ROUNDS):
        user = learner(number)
        race(lambda user=user: send_grade(COURSE_A, user=user), lambda user=user: send_grade(COURSE_B, user=user))
    assert CredlyBadge.objects.count() == ROUNDS
    assert len(provider.issued) == ROUNDS and provider.attempts == ROUNDS


def test_the_same_event_delivered_to_two_consumers_is_applied_once(two_group_template, provider, public_events):
    send_grade(COURSE_A)
    metadata = COURSE_PASSING_STATUS_UPDATED.generate_signal_metadata()
    status = passing_status(COURSE_B)

    def deliver() -> None:
        COURSE_PASSING_STATUS_UPDATED.send_event_with_custom_metadata(metadata, course_passing_status=status)

    race(deliver, deliver)
    assert ReceivedEvent.objects.filter(event_id=metadata.id).count() == 1
    assert Fulfillment.objects.filter(event_id=metadata.id).count() == 1
    assert CredlyBadge.objects.count() == 1 and len(provider.issued) == 1 and len(public_events["awarded"]) == 1


def test_two_tasks_for_one_badge_at_once_issue_it_once(two_group_template, provider, monkeypatch):
    """The row lock orders the provider calls: the second task waits, then finds the badge issued."""
    monkeypatch.setattr("badges.engine.enqueue_sync", lambda origin, badge_uuid: True)  # tasks run below
    provider.refuses_duplicates = False  # like Accredible: a second issue would show
    issue = provider.issue_badge

    def slow_issue(**kwargs):
        time.sleep(0.2)  # the first call is still on its way when the second task arrives
        return issue(**kwargs)

    monkeypatch.setattr(provider, "issue_badge", slow_issue)
    for number in range(ROUNDS):
        user = learner(number)
        send_grade(COURSE_A, user=user)
        send_grade(COURSE_B, user=user)
        badge = CredlyBadge.objects.get(username=user.pii.username)
        race(*[lambda badge=badge: issuing.sync_with_provider("credly", str(badge.uuid))] * 2)
        badge.refresh_from_db()
        assert str(badge.external_uuid) in provider.issued_ids
    assert len(provider.issued_ids) == ROUNDS
