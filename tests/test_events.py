"""openedx-events helpers: payload flattening and finding the learner anywhere in the kwargs."""
import datetime

from opaque_keys.edx.keys import CourseKey
from openedx_events.learning.data import (
    CourseData,
    CoursePassingStatusData,
    UserData,
    UserPersonalData,
)

from badges.conf import COURSE_PASSING_STATUS_UPDATED
from badges.events import event_payload, event_signal, find_user_data, payload_has_user_data

USER = UserData(id=7, is_active=True, pii=UserPersonalData(username="ann", email="ann@example.com", name="Ann Lee"))


def passing_status(is_passing=True):
    return CoursePassingStatusData(
        is_passing=is_passing,
        course=CourseData(
            course_key=CourseKey.from_string("course-v1:edX+DemoX+2026"),
            display_name="Demo",
            start=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        ),
        user=USER,
    )


def test_payload_is_plain_data_rooted_below_the_kwarg():
    payload = event_payload(COURSE_PASSING_STATUS_UPDATED, {"course_passing_status": passing_status(False)})
    assert payload["is_passing"] is False
    assert payload["course"]["course_key"] == "course-v1:edX+DemoX+2026"
    assert payload["course"]["start"] == "2026-01-01T00:00:00+00:00"
    assert payload["user"]["pii"]["email"] == "ann@example.com"


def test_user_data_is_found_at_any_depth():
    assert find_user_data({"course_passing_status": passing_status()}) == USER
    assert find_user_data({"wrapper": [{"inner": USER}]}) == USER
    assert find_user_data({"course": "x"}) is None


def test_event_signals_and_user_data_detection():
    assert payload_has_user_data(event_signal(COURSE_PASSING_STATUS_UPDATED))
    assert event_signal("org.openedx.unknown.v1") is None
    assert not payload_has_user_data(event_signal("org.openedx.content_authoring.course.catalog_info.changed.v1"))
