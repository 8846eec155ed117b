"""A learner is the LMS user id when events carry one: renames keep progress and badges, the badge goes
to the current email, events without an id keep working by username. Through the public signal."""
from __future__ import annotations

import dataclasses

import pytest
from django.contrib.auth import get_user_model
from openedx_events.learning.data import UserData, UserPersonalData

from badges import engine
from badges.identity import Learner
from badges.models import (
    BadgeProgress,
    CredlyBadge,
    CredlyBadgeTemplate,
    CredlyOrganization,
    Fulfillment,
    ReceivedEvent,
)
from badges.testing.fake_provider import FakeProvider
from tests.engine.conftest import COURSE_A, COURSE_B, COURSE_C, learner, send_grade

User = get_user_model()

pytestmark = pytest.mark.django_db(transaction=True)

RENAMED = {"username": "renamed-learner", "email": "renamed@example.net", "name": "Renamed Learner"}


def held_emails(provider) -> set[str]:
    """The recipient emails the provider issued badges to."""
    return {email for _template, email in provider.held}


def test_a_rename_mid_progress_completes_the_badge_under_the_new_name(two_group_template, provider, public_events):
    template, first, second = two_group_template
    send_grade(COURSE_A, user=learner(1))
    send_grade(COURSE_B, user=learner(1, **RENAMED))

    progress = BadgeProgress.objects.get()
    assert (progress.username, progress.lms_user_id) == ("renamed-learner", 1001)
    assert set(Fulfillment.objects.values_list("requirement_id", flat=True)) == {first.id, second.id}
    badge = CredlyBadge.objects.get()
    assert (badge.username, badge.status, badge.credential) == ("renamed-learner", "awarded", template)
    assert badge.state == "pending" and badge.provider_error == ""
    assert held_emails(provider) == {"renamed@example.net"}
    assert provider.issued == [(str(template.uuid), "renamed-learner")]
    user = User.objects.get(lms_user_id=1001)
    assert (user.username, user.email, user.full_name) == ("renamed-learner", "renamed@example.net", "Renamed Learner")
    assert User.objects.count() == 1
    (awarded,) = public_events["awarded"]
    assert awarded.user.pii.username == "renamed-learner" and awarded.user.pii.email == "renamed@example.net"


def test_a_rename_after_a_badge_moves_the_badge_and_the_next_badge_goes_to_the_new_email(
        make_credly_template, add_requirement, activate, provider):
    templates = []
    for course in (COURSE_A, COURSE_B):
        template = make_credly_template(name=f"Pass {course}")
        add_requirement(template, rules=[("course.course_key", "eq", course), ("is_passing", "eq", "true")])
        templates.append(activate(template))
    send_grade(COURSE_A, user=learner(1))
    assert held_emails(provider) == {"learner1@example.com"}

    send_grade(COURSE_B, user=learner(1, **RENAMED))

    assert sorted(CredlyBadge.objects.values_list("username", flat=True)) == ["renamed-learner"] * 2
    assert set(BadgeProgress.objects.values_list("username", "lms_user_id")) == {("renamed-learner", 1001)}
    assert held_emails(provider) == {"learner1@example.com", "renamed@example.net"}
    assert list(User.objects.values_list("username", "email")) == [("renamed-learner", "renamed@example.net")]
    assert not CredlyBadge.objects.filter(state="error").exists()


def test_a_new_email_without_a_rename_reaches_the_provider(make_credly_template, add_requirement, activate, provider):
    for course in (COURSE_A, COURSE_B):
        template = make_credly_template(name=f"Pass {course}")
        add_requirement(template, rules=[("course.course_key", "eq", course), ("is_passing", "eq", "true")])
        activate(template)
    send_grade(COURSE_A, user=learner(1))
    send_grade(COURSE_B, user=learner(1, email="moved@example.org", name="Moved Learner"))

    assert held_emails(provider) == {"learner1@example.com", "moved@example.org"}
    assert list(User.objects.values_list("email", "full_name")) == [("moved@example.org", "Moved Learner")]


def without_id(username: str = "learner1") -> UserData:
    return UserData(id=None, is_active=True,
                    pii=UserPersonalData(username=username, email=f"{username}@example.com", name="No Id"))


def test_events_without_an_lms_user_id_keep_working_by_username(two_group_template, provider):
    template, _first, _second = two_group_template
    send_grade(COURSE_A, user=without_id())
    send_grade(COURSE_B, user=without_id())

    assert list(BadgeProgress.objects.values_list("username", "lms_user_id")) == [("learner1", None)]
    badge = CredlyBadge.objects.get()
    assert (badge.username, badge.credential, badge.state) == ("learner1", template, "pending")
    assert held_emails(provider) == {"learner1@example.com"}


def test_progress_stored_without_an_id_is_adopted_by_the_first_event_with_one(two_group_template, provider):
    send_grade(COURSE_A, user=without_id())
    send_grade(COURSE_B, user=learner(1))

    assert list(BadgeProgress.objects.values_list("username", "lms_user_id")) == [("learner1", 1001)]
    assert CredlyBadge.objects.get().username == "learner1"


def test_an_event_the_sweep_replays_does_not_rename_the_learner_back(two_group_template, provider, monkeypatch):
    """A grade under the old name fails, the learner is renamed, then the sweep applies the old event."""
    template, _first, _second = two_group_template
    real_apply = engine.apply_event
    failing = {"once": True}

    def apply_failing_once(*args, **kwargs):
        if failing.pop("once", False):
            raise RuntimeError("database hiccup")
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(engine, "apply_event", apply_failing_once)
    send_grade(COURSE_B, user=learner(1))
    assert ReceivedEvent.objects.get().status == "failed"
    send_grade(COURSE_A, user=learner(1, **RENAMED))
    assert engine.finish_pending_events() == 1

    assert list(BadgeProgress.objects.values_list("username", "lms_user_id")) == [("renamed-learner", 1001)]
    badge = CredlyBadge.objects.get()
    assert (badge.username, badge.credential) == ("renamed-learner", template)
    assert held_emails(provider) == {"renamed@example.net"}
    assert list(User.objects.values_list("username", "email")) == [("renamed-learner", "renamed@example.net")]


def test_two_learners_with_their_own_ids_stay_apart(two_group_template, provider):
    send_grade(COURSE_A, user=learner(1))
    send_grade(COURSE_A, user=learner(2))
    send_grade(COURSE_C, user=learner(1))  # matches nothing
    send_grade(COURSE_B, user=learner(2, username="learner2-renamed"))

    assert set(BadgeProgress.objects.values_list("username", "lms_user_id")) == {
        ("learner1", 1001), ("learner2-renamed", 1002)}
    assert list(CredlyBadge.objects.values_list("username", flat=True)) == ["learner2-renamed"]


@pytest.fixture
def fake_credly(settings, site):
    """The fake provider over real HTTP (in a thread), with one organization and template known here."""
    with FakeProvider() as fake:
        settings.BADGES_CONFIG = fake.badges_config()
        organization_id = fake.control.add_credly_organization(api_key="identity-key", name="Identity org")
        remote = fake.control.add_credly_template(organization_id, name="Identity badge")
        organization = CredlyOrganization.objects.create(uuid=organization_id, api_key="identity-key")
        yield fake, organization, remote["id"], site


def test_the_provider_receives_the_new_email_and_name_after_a_rename(fake_credly, add_requirement, activate):
    fake, organization, template_id, site = fake_credly
    template = CredlyBadgeTemplate.objects.create(site=site, organization=organization,
                                                  uuid=template_id, name="Identity badge")
    for course in (COURSE_A, COURSE_B):
        add_requirement(template, rules=[("course.course_key", "eq", course), ("is_passing", "eq", "true")])
    activate(template)

    send_grade(COURSE_A, user=learner(1))
    send_grade(COURSE_B, user=learner(1, **RENAMED))

    (issued,) = fake.control.credly_badges(str(organization.uuid))
    assert issued["recipient_email"] == "renamed@example.net"
    assert (issued["issued_to_first_name"], issued["issued_to_last_name"]) == ("Renamed", "Learner")
    badge = CredlyBadge.objects.get()
    assert (badge.username, badge.state, str(badge.external_uuid)) == ("renamed-learner", "pending", issued["id"])


def test_a_username_held_under_another_id_keeps_its_records_and_events_keep_working(two_group_template, provider):
    """The LMS gives a name to one learner at a time; rows stay unique per name, so they are shared, not split."""
    send_grade(COURSE_A, user=learner(1, username="shared"))
    send_grade(COURSE_B, user=learner(2, username="shared"))
    send_grade(COURSE_A, user=learner(2, username="taken-over"))  # learner 2 renamed: "shared" is learner 1's row

    assert set(ReceivedEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert list(CredlyBadge.objects.values_list("username", flat=True)) == ["shared"]
    assert list(BadgeProgress.objects.order_by("id").values_list("username", "lms_user_id")) == [
        ("shared", 1001), ("taken-over", 1002)]


def test_a_learner_is_stored_with_every_field():
    learner = Learner(username="ada", email="ada@example.com", full_name="Ada L", lms_user_id=7, is_active=False)
    assert learner.as_dict() == dataclasses.asdict(learner)
