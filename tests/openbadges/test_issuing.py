"""The Open Badges provider on the shared issuing path: errors an operator fixes, retry, re-award."""
from __future__ import annotations

import pytest
from django.utils import timezone

from badges import issuing
from badges.models import OpenBadge, OpenBadgeCredential, OpenBadgeSigningKey
from badges.openbadges import signing
from badges.openbadges.verify import LocalResolver, verify_credential
from badges.tasks.issuing import enqueue_sync, queue_retry
from tests.engine.conftest import COURSE_A, COURSE_B, learner, send_grade

pytestmark = pytest.mark.django_db(transaction=True)


def award(user=None) -> OpenBadge:
    send_grade(COURSE_A, user=user)
    send_grade(COURSE_B, user=user)
    return OpenBadge.objects.get(username=(user or learner()).pii.username)


def test_without_a_signing_key_the_badge_waits_in_error_until_the_operator_retries(make_achievement, issuer):
    make_achievement()
    OpenBadgeSigningKey.objects.filter(issuer=issuer).update(retired_at=timezone.now())

    badge = award()

    assert (badge.status, badge.state, badge.credential_uuid) == ("awarded", "error", None)
    assert badge.provider_error == f"Issuer {issuer} has no signing key; generate one in the admin."
    assert not OpenBadgeCredential.objects.exists()

    signing.generate_key(issuer)
    assert queue_retry(badge)
    badge.refresh_from_db()
    assert (badge.state, badge.provider_error) == ("accepted", "")
    assert verify_credential(OpenBadgeCredential.objects.get().signed, LocalResolver()).valid


def test_a_learner_without_email_is_an_error_not_a_credential(make_achievement):
    make_achievement()
    badge = award(learner(email=""))
    assert badge.state == "error" and "has no email" in badge.provider_error
    assert not OpenBadgeCredential.objects.exists()


def test_reaward_issues_a_new_credential_and_the_revoked_one_stays_revoked(make_achievement, add_penalty):
    achievement = make_achievement()
    first = achievement.requirements.order_by("group").first()
    add_penalty(achievement, [first], rules=[("is_passing", "eq", "false"), ("course.course_key", "eq", COURSE_A)])
    badge = award()
    old_uuid = badge.credential_uuid
    send_grade(COURSE_A, is_passing=False)
    badge.refresh_from_db()
    assert badge.state == "revoked"

    assert issuing.reaward(badge)
    enqueue_sync(issuing.kind_of(badge).origin, str(badge.uuid))

    badge.refresh_from_db()
    assert (badge.status, badge.state) == ("awarded", "accepted")
    assert badge.credential_uuid not in (None, old_uuid)
    old, new = (OpenBadgeCredential.objects.get(uuid=value) for value in (old_uuid, badge.credential_uuid))
    assert verify_credential(old.signed, LocalResolver()).revoked is True
    assert verify_credential(new.signed, LocalResolver()).valid
    assert new.status_index != old.status_index
