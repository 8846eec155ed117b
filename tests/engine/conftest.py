"""Engine fixtures: grade events sent like the bus does, an in-test provider, captured public events."""
from __future__ import annotations

import datetime
import threading
import uuid
from dataclasses import dataclass, field

import pytest
from opaque_keys.edx.keys import CourseKey
from openedx_events.learning.data import CourseData, CoursePassingStatusData, UserData, UserPersonalData
from openedx_events.learning.signals import BADGE_AWARDED, BADGE_REVOKED, COURSE_PASSING_STATUS_UPDATED

from badges import issuing, rulebook
from badges.models import BadgePenalty, PenaltyDataRule
from badges.providers.base import (
    BadgeProvider,
    DuplicateBadgeError,
    OutcomeUnknownError,
    Recipient,
    RemoteBadge,
)

COURSE_A = "course-v1:EdX+A+2025"
COURSE_B = "course-v1:EdX+B+2025"
COURSE_C = "course-v1:EdX+C+2025"


@pytest.fixture(autouse=True)
def fresh_rulebook_cache():
    """Each test starts from an empty cache (a test database starts without a configuration token)."""
    rulebook.clear_cache()
    yield
    rulebook.clear_cache()


def learner(number: int = 1, **pii) -> UserData:
    return UserData(
        id=1000 + number,
        is_active=True,
        pii=UserPersonalData(username=pii.get("username", f"learner{number}"),
                             email=pii.get("email", f"learner{number}@example.com"),
                             name=pii.get("name", f"Learner Number{number}")),
    )


def passing_status(course_key: str, is_passing: bool = True, user: UserData | None = None) -> CoursePassingStatusData:
    return CoursePassingStatusData(
        is_passing=is_passing,
        course=CourseData(course_key=CourseKey.from_string(course_key), display_name="Course"),
        user=user if user is not None else learner(),
    )


def send_grade(course_key: str, is_passing: bool = True, user: UserData | None = None):
    """Send COURSE_PASSING_STATUS_UPDATED in-process, as the bus consumer does; fail on a receiver error."""
    results = COURSE_PASSING_STATUS_UPDATED.send_event(course_passing_status=passing_status(course_key, is_passing,
                                                                                           user))
    errors = [result for _receiver, result in results if isinstance(result, Exception)]
    assert not errors, errors
    return results


@pytest.fixture
def public_events():
    """BADGE_AWARDED / BADGE_REVOKED as listeners hear them: lists of BadgeData."""
    heard = {"awarded": [], "revoked": []}

    def on_awarded(sender, signal, badge, **kwargs):
        heard["awarded"].append(badge)

    def on_revoked(sender, signal, badge, **kwargs):
        heard["revoked"].append(badge)

    BADGE_AWARDED.connect(on_awarded)
    BADGE_REVOKED.connect(on_revoked)
    yield heard
    BADGE_AWARDED.disconnect(on_awarded)
    BADGE_REVOKED.disconnect(on_revoked)


class WorkerKilled(BaseException):
    """Stands for SIGKILL during a provider call: nothing of ours runs after it, the transaction rolls back."""


@dataclass
class RecordingProvider(BadgeProvider):
    """A provider in memory: records calls, can fail the next calls, refuses duplicates like Credly.

    With ``refuses_duplicates`` off it issues every request like Accredible; ``crash_after_issues``
    makes the next issues take effect and then end the caller as a killed worker would.
    """

    origin = "credly"
    failures: list[Exception] = field(default_factory=list)
    issued: list[tuple[str, str]] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    attempts: int = 0
    lost_answers: int = 0  # the next issues are carried out, but their answer is lost
    held: dict[tuple[str, str], str] = field(default_factory=dict)
    ended: dict[tuple[str, str], str] = field(default_factory=dict)  # revoked badges, still listed like Credly's
    lookups: int = 0
    refuses_duplicates: bool = True
    crash_after_issues: int = 0
    issued_ids: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def live(self) -> list[str]:
        """Issued badges not revoked since."""
        return [external_id for external_id in self.issued_ids if external_id not in self.revoked]

    def fetch_account_name(self) -> str:
        return "Recording"

    def list_templates(self):
        return iter(())

    def issue_badge(self, *, template_external_id: str, recipient: Recipient,
                    issued_at: datetime.datetime) -> RemoteBadge:
        with self.lock:
            self.attempts += 1
            if self.failures:
                raise self.failures.pop(0)
            key = (template_external_id, recipient.email)
            if key in self.held and self.refuses_duplicates:
                raise DuplicateBadgeError("User already has this badge", status=422)
            # Accredible groups have numeric ids and so do its credentials; Credly uses UUIDs.
            external_id = str(uuid.uuid4().int % 10**9) if template_external_id.isdigit() else str(uuid.uuid4())
            self.held[key] = external_id
            self.issued.append((template_external_id, recipient.username))
            self.issued_ids.append(external_id)
            if self.crash_after_issues:
                self.crash_after_issues -= 1
                raise WorkerKilled
            if self.lost_answers:
                self.lost_answers -= 1
                raise OutcomeUnknownError("Read timed out")
            return RemoteBadge(external_id=external_id, state="pending")

    def revoke_badge(self, *, badge_external_id: str, reason: str) -> RemoteBadge:
        with self.lock:
            if self.failures:
                raise self.failures.pop(0)
            self.revoked.append(badge_external_id)
            self.ended |= {key: value for key, value in self.held.items() if value == badge_external_id}
            self.held = {key: value for key, value in self.held.items() if value != badge_external_id}
            return RemoteBadge(external_id=badge_external_id, state="revoked")

    def find_badge(self, *, template_external_id: str, recipient: Recipient) -> RemoteBadge | None:
        """The learner's live badge, else a revoked one: Credly lists both and prefers the live one."""
        self.lookups += 1
        key = (template_external_id, recipient.email)
        if key in self.held:
            return RemoteBadge(external_id=self.held[key], state="accepted")
        if key in self.ended:
            return RemoteBadge(external_id=self.ended[key], state="revoked")
        return None


@pytest.fixture
def provider(monkeypatch) -> RecordingProvider:
    recording = RecordingProvider()
    monkeypatch.setattr(issuing, "provider_for_template", lambda template: recording)
    return recording


@pytest.fixture
def activate():
    def activate(template):
        template.is_active = True
        template.save()
        return template

    return activate


@pytest.fixture
def add_penalty():
    def add(template, requirements, *, rules=(), event_type=None):
        penalty = BadgePenalty.objects.create(template=template, event_type=event_type or requirements[0].event_type)
        penalty.requirements.set(requirements)
        for data_path, operator, value in rules:
            PenaltyDataRule.objects.create(penalty=penalty, data_path=data_path, operator=operator, value=value)
        template.save()  # M2M writes bump no version by themselves
        return penalty

    return add


@pytest.fixture
def two_group_template(make_credly_template, add_requirement, activate):
    """Group A: pass course A. Group B: pass course B."""
    template = make_credly_template(name="Two groups")
    first = add_requirement(template, rules=[("course.course_key", "eq", COURSE_A), ("is_passing", "eq", "true")])
    second = add_requirement(template, rules=[("course.course_key", "eq", COURSE_B), ("is_passing", "eq", "true")])
    activate(template)
    return template, first, second


