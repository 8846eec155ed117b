"""Fuzzed grade events sent through the public openedx-events signal, as the bus consumers do.

The learner's fields, the course's display name and the passing flag are drawn from hostile text
(NUL, lone surrogates, control characters, long and empty strings), for a course that a badge
requires and for one it does not. Each event must end handled: no exception reaches the signal,
none is logged; an event that matches is recorded and awards exactly one badge to its learner;
an event holding text no database can store (NUL, a lone surrogate) is refused with a warning
and leaves nothing behind; the rest are ignored without a trace.
"""
from __future__ import annotations

import logging
import time
import uuid
import zlib
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from hypothesis import example, given, settings
from hypothesis import strategies as st
from opaque_keys.edx.keys import CourseKey
from openedx_events.learning.data import CourseData, CoursePassingStatusData, UserData, UserPersonalData
from openedx_events.learning.signals import COURSE_PASSING_STATUS_UPDATED

from badges import rulebook
from badges.models import (
    BadgeRequirement,
    CredlyBadge,
    CredlyBadgeTemplate,
    CredlyOrganization,
    DataRule,
    ReceivedEvent,
)
from badges.testing.fake_provider import FakeProviderProcess
from tests.reliability.fuzzing import PROFILE, hostile_text
from tests.reliability.summary import ScenarioSummary

User = get_user_model()

pytestmark = pytest.mark.django_db(transaction=True)

MAX_EXAMPLES = 4000
REQUIRED_COURSE = "course-v1:Fuzz+Required+2026"
OTHER_COURSE = "course-v1:Fuzz+Other+2026"
CREDLY_KEY = "event-fuzzing-credly-key"



def lms_user_id_of(username: str) -> int:
    """One LMS user id per username, as in the LMS (the id, not the name, identifies a learner here)."""
    return zlib.crc32(username.encode("utf-8", "surrogatepass")) % 2**31


@st.composite
def learners(draw: st.DrawFn) -> UserData:
    """A learner with hostile fields; the email starts with the username's hash, so two learners
    never share one (the provider refuses a second badge for the same email). The id is the
    username's own, none, or out of range: renames are not fuzzed here (tests/engine/test_learner_identity.py)."""
    username = draw(st.one_of(hostile_text, st.text(min_size=1, max_size=30)))
    email = f"{zlib.crc32(username.encode('utf-8', 'surrogatepass')):08x}{draw(hostile_text)}"
    out_of_range = st.one_of(st.integers(max_value=-1), st.integers(min_value=2**31, max_value=2**32))
    return UserData(
        id=draw(st.one_of(st.none(), st.just(lms_user_id_of(username)), out_of_range)),
        is_active=draw(st.booleans()),
        pii=UserPersonalData(username=username, email=email, name=draw(st.one_of(hostile_text, st.text(max_size=300)))),
    )


events = st.builds(
    lambda user, course, display_name, is_passing: CoursePassingStatusData(
        is_passing=is_passing, user=user,
        course=CourseData(course_key=CourseKey.from_string(course), display_name=display_name)),
    user=learners(),
    course=st.sampled_from([REQUIRED_COURSE, OTHER_COURSE]),
    display_name=hostile_text,
    is_passing=st.booleans(),
)


def refused(status: CoursePassingStatusData) -> bool:
    """What no database (and no LMS) holds: NUL, lone surrogates, text over its column, ids out of range."""
    pii = status.user.pii
    texts = (pii.username, pii.email or "", pii.name or "", status.course.display_name or "")
    return (any("\x00" in text or any("\ud800" <= c <= "\udfff" for c in text) for text in texts)
            or len(pii.name or "") > 255 or not 0 <= (status.user.id or 0) < 2**31)


def grade(username: str, *, email: str = "x@example.com", name: str = "X", display_name: str = "Course",
          course: str = REQUIRED_COURSE) -> CoursePassingStatusData:
    user = UserData(id=lms_user_id_of(username), is_active=True,
                    pii=UserPersonalData(username=username, email=email, name=name))
    return CoursePassingStatusData(is_passing=True, user=user,
                                   course=CourseData(course_key=CourseKey.from_string(course),
                                                     display_name=display_name))


@pytest.fixture
def fake():
    with FakeProviderProcess() as process:
        yield process


@pytest.fixture
def required_badge(fake, settings, site):
    """An active Credly template at the fake provider, required by passing REQUIRED_COURSE."""
    rulebook.clear_cache()
    settings.BADGES_CONFIG = fake.badges_config()
    settings.BADGES_PROVIDER_HTTP = {"attempts": 1}
    org_id = fake.control.add_credly_organization(api_key=CREDLY_KEY)
    remote = fake.control.add_credly_template(org_id, name="Fuzz badge")
    organization = CredlyOrganization.objects.create(uuid=org_id, api_key=CREDLY_KEY)
    template = CredlyBadgeTemplate.objects.create(site=site, organization=organization, uuid=remote["id"],
                                                  name="Fuzz badge", state="active", is_active=True)
    requirement = BadgeRequirement.objects.create(template=template,
                                                  event_type=COURSE_PASSING_STATUS_UPDATED.event_type)
    DataRule.objects.create(requirement=requirement, data_path="course.course_key", operator="eq",
                            value=REQUIRED_COURSE)
    DataRule.objects.create(requirement=requirement, data_path="is_passing", operator="eq", value="true")
    yield template
    rulebook.clear_cache()


def test_fuzzed_events_end_handled_and_refused_ones_leave_nothing(fake, required_badge, caplog):
    caplog.set_level(logging.INFO)
    started = time.monotonic()
    sent_ids: list[uuid.UUID] = []
    problems: list[str] = []
    refused_usernames: set[str] = set()
    accepted_usernames: set[str] = set()
    expected_awards: set[str] = set()

    def note_id(sender: Any, signal: Any, metadata: Any = None, **kwargs: Any) -> None:
        sent_ids.append(metadata.id)

    COURSE_PASSING_STATUS_UPDATED.connect(note_id)

    @settings(settings.get_profile(PROFILE), max_examples=MAX_EXAMPLES)
    @given(status=events)
    @example(status=grade("nul\x00learner"))
    @example(status=grade("surrogate-learner", name="Ada \ud800"))
    @example(status=grade("nul-course-name", display_name="Course\x00"))
    def send(status: CoursePassingStatusData) -> None:
        pii = status.user.pii
        results = COURSE_PASSING_STATUS_UPDATED.send_event(course_passing_status=status)
        errors = [repr(result) for _receiver, result in results if isinstance(result, Exception)]
        problems.extend(errors)
        assert errors == []
        event_id = sent_ids[-1]
        stored = ReceivedEvent.objects.filter(event_id=event_id).first()
        if refused(status):
            refused_usernames.add(pii.username)
            assert stored is None, "an event holding unstorable text left a record"
            return
        accepted_usernames.add(pii.username)
        if status.is_passing and str(status.course.course_key) == REQUIRED_COURSE and pii.username:
            expected_awards.add(pii.username)
            assert stored is not None and stored.status == "processed", (stored, stored and stored.error)
        else:
            assert stored is None

    try:
        send()
    finally:
        COURSE_PASSING_STATUS_UPDATED.disconnect(note_id)
        records = CredlyBadge.objects.filter(
            credential_content_type=ContentType.objects.get_for_model(CredlyBadgeTemplate),
            credential_id=required_badge.pk)
        badges = list(records.values_list("username", flat=True))
        refused_by_provider = records.filter(state="error").exclude(provider_error="").count()
        at_provider = fake.control.credly_badges()
        logged_errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
        only_refused = refused_usernames - accepted_usernames
        leftovers = len(only_refused & set(User.objects.values_list("username", flat=True)))
        summary = ScenarioSummary(
            "event payload fuzzing through openedx-events", events=len(sent_ids), awards=len(badges),
            provider_issues=len(at_provider), duplicates=len(badges) - len(set(badges)),
            lost=len(expected_awards - set(badges)) + len(problems) + leftovers,
            seconds=time.monotonic() - started,
        )
        summary.report()
    assert logged_errors == [], [r.getMessage() for r in logged_errors[:5]]
    assert set(badges) == expected_awards, (expected_awards ^ set(badges))
    assert len(badges) == len(expected_awards)
    # Every award reached the provider: issued there, or refused by it (an invalid email) and shown as such.
    assert len(at_provider) + refused_by_provider == len(badges), (len(at_provider), refused_by_provider)
    assert leftovers == 0
    assert refused_usernames and expected_awards, "the examples covered refused and awarded events"
    assert any("Refused event" in r.getMessage() for r in caplog.records)
