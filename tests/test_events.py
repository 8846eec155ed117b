"""openedx-events helpers: payload flattening and finding the learner anywhere in the kwargs."""
import datetime

import attr
import pytest
from opaque_keys.edx.keys import CourseKey
from openedx_events.learning.data import (
    CourseData,
    CoursePassingStatusData,
    UserData,
    UserPersonalData,
)

from badges.conf import COURSE_PASSING_STATUS_UPDATED
from badges.events import (
    event_payload,
    event_signal,
    find_user_data,
    payload_has_user_data,
    plain_data,
    unstorable_text,
)

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


@attr.s(frozen=True)
class Wrapper:
    """A payload with every kind of value openedx-events data classes hold."""

    statuses = attr.ib(type=list)
    by_name = attr.ib(type=dict)
    tags = attr.ib(type=tuple)
    day = attr.ib(type=datetime.date)
    nothing = attr.ib(default=None)


def attrs_reference(value):
    """attrs' own conversion with the serializer badges first used: the behaviour plain_data keeps."""
    def serialize(_inst, _field, item):
        if isinstance(item, datetime.datetime | datetime.date):
            return item.isoformat()
        if item is None or isinstance(item, bool | int | float | str | list | tuple | dict) or attr.has(type(item)):
            return item
        return str(item)
    return attr.asdict(value, value_serializer=serialize)


def test_plain_data_is_what_attrs_gives():
    wrapper = Wrapper(statuses=[passing_status(), passing_status(False)],
                      by_name={"first": passing_status(), "key": CourseKey.from_string("course-v1:edX+DemoX+2026")},
                      tags=("a", 1, 2.5, True), day=datetime.date(2026, 11, 30))
    assert plain_data(wrapper) == attrs_reference(wrapper)
    assert plain_data(passing_status()) == attrs_reference(passing_status())
    assert plain_data(passing_status())["course"]["course_key"] == "course-v1:edX+DemoX+2026"


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"course": {"display_name": "Intro", "tags": ["ok", "bad\x00"]}}, "course.tags[1]"),
        ({"user": {"pii": {"name": "Ada \ud800"}}}, "user.pii.name"),
        ({"odd\udfff": 1}, "odd\udfff"),
        ([{"a": "x"}, {"b": "\x00"}], "[1].b"),
        ("text\x00", "(text)"),
        ({"course": {"display_name": "Intro", "start": None, "count": 3, "tags": ["\u00e9t\u00e9", "\U0001f600"]}},
         None),
    ],
)
def test_unstorable_text_names_the_first_place(value, where):
    assert unstorable_text(value) == where
