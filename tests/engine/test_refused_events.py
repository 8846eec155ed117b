"""Events no database can store are refused with a warning and leave nothing behind, on every database."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from opaque_keys.edx.keys import CourseKey
from openedx_events.learning.data import CourseData, CoursePassingStatusData, UserData, UserPersonalData
from openedx_events.learning.signals import COURSE_PASSING_STATUS_UPDATED

from badges.models import CredlyBadge, ReceivedEvent
from tests.engine.conftest import COURSE_A, send_grade

User = get_user_model()

pytestmark = pytest.mark.django_db(transaction=True)


def user(username: str = "ada", *, email: str = "ada@example.com", name: str = "Ada", lms_id: int | None = 7):
    return UserData(id=lms_id, is_active=True, pii=UserPersonalData(username=username, email=email, name=name))


@pytest.mark.parametrize(
    ("learner", "reason"),
    [
        pytest.param(user("ada\x00"), "the learner's username holds a NUL character", id="nul-username"),
        pytest.param(user(name="Ada \ud800"), "the learner's full_name holds a NUL character or a lone surrogate",
                     id="surrogate-name"),
        pytest.param(user(email="a\x00@example.com"), "the learner's email holds", id="nul-email"),
        pytest.param(user("a" * 151), "the learner's username is longer than 150 characters", id="long-username"),
        pytest.param(user(name="A" * 256), "the learner's full_name is longer than 255 characters", id="long-name"),
        pytest.param(user(lms_id=-1), "the learner's LMS user id -1 is out of range", id="negative-id"),
        pytest.param(user(lms_id=2**31), "out of range", id="huge-id"),
    ],
)
def test_learner_no_database_stores_is_refused(two_group_template, provider, caplog, learner, reason):
    send_grade(COURSE_A, user=learner)
    assert "Refused event" in caplog.text and reason in caplog.text
    assert not ReceivedEvent.objects.exists()
    assert not User.objects.exists()
    assert not CredlyBadge.objects.exists()


def test_payload_text_no_database_stores_is_refused(make_credly_template, add_requirement, activate, provider,
                                                      caplog):
    template = make_credly_template()
    add_requirement(template)
    activate(template)
    status = CoursePassingStatusData(is_passing=True, user=user(),
                                     course=CourseData(course_key=CourseKey.from_string(COURSE_A),
                                                       display_name="Intro\x00"))
    results = COURSE_PASSING_STATUS_UPDATED.send_event(course_passing_status=status)
    assert not [result for _receiver, result in results if isinstance(result, Exception)]
    assert "course.display_name holds a NUL character or a lone surrogate; nothing was recorded" in caplog.text
    assert not ReceivedEvent.objects.exists() and not CredlyBadge.objects.exists()


def test_limits_themselves_are_accepted(make_credly_template, add_requirement, activate, provider):
    template = make_credly_template()
    add_requirement(template)
    activate(template)
    send_grade(COURSE_A, user=user("a" * 150, name="A" * 255, lms_id=2**31 - 1))
    assert ReceivedEvent.objects.get().status == "processed"
    assert CredlyBadge.objects.get().username == "a" * 150
