"""Provider attempts that die midway, and re-awards while a revoke is pending: never two live badges."""
from __future__ import annotations

import pytest

from badges import issuing
from badges.models import CredlyBadge
from badges.providers.base import TransientProviderError
from tests.engine.conftest import COURSE_A, COURSE_B, WorkerKilled, learner, send_grade

pytestmark = pytest.mark.django_db(transaction=True)


def award(user=None) -> CredlyBadge:
    send_grade(COURSE_A, user=user)
    send_grade(COURSE_B, user=user)
    return CredlyBadge.objects.get(username=(user or learner()).pii.username)


def add_course_a_penalty(two_group_template, add_penalty) -> None:
    template, first, _second = two_group_template
    add_penalty(template, [first], rules=[("is_passing", "eq", "false"), ("course.course_key", "eq", COURSE_A)])


@pytest.mark.parametrize("refuses_duplicates", [False, True], ids=["like-accredible", "like-credly"])
def test_an_attempt_killed_after_the_provider_issued_is_looked_up_not_issued_again(
        two_group_template, provider, refuses_duplicates):
    provider.refuses_duplicates = refuses_duplicates
    provider.crash_after_issues = 1
    with pytest.raises(WorkerKilled):
        award()
    badge = CredlyBadge.objects.get()
    assert badge.external_uuid is None and badge.issue_attempts == 1  # the count survived the crash

    assert issuing.sync_with_provider("credly", str(badge.uuid)).action is issuing.Action.ISSUE  # the redelivery
    badge.refresh_from_db()
    assert len(provider.issued_ids) == 1 and provider.lookups == 1
    assert str(badge.external_uuid) == provider.issued_ids[0] and badge.state == "accepted"


def test_a_first_attempt_issues_without_a_lookup(two_group_template, provider):
    badge = award()
    assert badge.external_uuid is not None and badge.issue_attempts == 1 and provider.lookups == 0


def test_a_reaward_while_the_revoke_is_pending_revokes_the_old_badge_before_issuing(
        two_group_template, add_penalty, provider, public_events):
    add_course_a_penalty(two_group_template, add_penalty)
    provider.refuses_duplicates = False
    badge = award()
    old = str(badge.external_uuid)
    provider.failures = [TransientProviderError("Service Unavailable", status=503)]
    send_grade(COURSE_A, is_passing=False)
    badge.refresh_from_db()
    assert (badge.status, badge.state, str(badge.external_uuid)) == ("revoked", "no_response", old)

    assert issuing.reaward(badge)
    badge.refresh_from_db()
    assert badge.external_uuid is None and badge.replaced_external_id == old
    assert issuing.sync_with_provider("credly", str(badge.uuid)).action is issuing.Action.ISSUE
    badge.refresh_from_db()
    assert provider.revoked == [old] and provider.live() == [str(badge.external_uuid)]
    assert (badge.status, badge.state, badge.replaced_external_id, badge.issue_attempts) == (
        "awarded", "pending", "", 1)


def test_a_reaward_whose_old_badge_cannot_be_revoked_yet_issues_nothing_new(
        two_group_template, add_penalty, provider, staff_client):
    add_course_a_penalty(two_group_template, add_penalty)
    provider.refuses_duplicates = False
    badge = award()
    old = str(badge.external_uuid)
    provider.failures = [TransientProviderError("Service Unavailable", status=503)] * 2
    send_grade(COURSE_A, is_passing=False)
    badge.refresh_from_db()
    issuing.reaward(badge)
    result = issuing.sync_with_provider("credly", str(badge.uuid))
    assert result.action is issuing.Action.REVOKE_REPLACED and result.retry_in is not None
    badge.refresh_from_db()
    assert provider.live() == [old] and len(provider.issued_ids) == 1 and badge.state == "no_response"
    assert old in staff_client.get(f"/admin/badges/credlybadge/{badge.pk}/change/").content.decode()

    issuing.sync_with_provider("credly", str(badge.uuid))  # the retry
    badge.refresh_from_db()
    assert provider.revoked == [old] and provider.live() == [str(badge.external_uuid)]


def test_a_reaward_revoked_again_before_issuing_still_revokes_the_old_badge(
        two_group_template, add_penalty, provider):
    add_course_a_penalty(two_group_template, add_penalty)
    badge = award()
    old = str(badge.external_uuid)
    provider.failures = [TransientProviderError("Service Unavailable", status=503)] * 2
    send_grade(COURSE_A, is_passing=False)
    badge.refresh_from_db()
    issuing.reaward(badge)
    issuing.sync_with_provider("credly", str(badge.uuid))  # the old badge's revoke fails again
    badge.refresh_from_db()
    issuing.change_badge(badge, status="revoked", start_sync=True)  # the penalty applies again

    issuing.sync_with_provider("credly", str(badge.uuid))
    badge.refresh_from_db()
    assert provider.revoked == [old] and provider.live() == []
    assert (badge.status, badge.state, badge.replaced_external_id) == ("revoked", "revoked", "")


def test_a_reaward_after_a_confirmed_revoke_issues_anew_without_a_lookup(two_group_template, add_penalty, provider):
    add_course_a_penalty(two_group_template, add_penalty)
    badge = award()
    send_grade(COURSE_A, is_passing=False)
    badge.refresh_from_db()
    assert badge.state == "revoked"
    issuing.reaward(badge)
    badge.refresh_from_db()
    assert badge.replaced_external_id == ""
    issuing.sync_with_provider("credly", str(badge.uuid))
    assert len(provider.live()) == 1 and len(provider.revoked) == 1 and provider.lookups == 0
