"""Events through the receiver, as the bus delivers them: progress, awarding, revoking, idempotency.

Transactional database: the engine's on-commit work (public events, the provider task, run
eagerly without a broker) happens as in production.
"""
from __future__ import annotations

import datetime
import logging

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from opaque_keys.edx.keys import CourseKey
from openedx_events.learning.data import CourseData, CourseEnrollmentData
from openedx_events.learning.signals import COURSE_ENROLLMENT_CREATED, COURSE_PASSING_STATUS_UPDATED
from openedx_events.tooling import OpenEdxPublicSignal

from badges import engine, receivers
from badges.models import AccredibleBadge, BadgeProgress, CredlyBadge, Fulfillment, ReceivedEvent
from tests.engine.conftest import COURSE_A, COURSE_B, COURSE_C, learner, passing_status, send_grade

User = get_user_model()

pytestmark = pytest.mark.django_db(transaction=True)

ENROLLMENT = "org.openedx.learning.course.enrollment.created.v1"


def fulfilled(username: str = "learner1") -> set[int]:
    return set(Fulfillment.objects.filter(progress__username=username).values_list("requirement_id", flat=True))


def test_two_groups_award_only_after_both_then_exactly_once(two_group_template, provider, public_events):
    template, first, _second = two_group_template
    send_grade(COURSE_A)
    assert fulfilled() == {first.id}
    assert not CredlyBadge.objects.exists() and not User.objects.filter(username="learner1").exists()
    assert public_events["awarded"] == [] and provider.issued == []

    send_grade(COURSE_B)
    badge = CredlyBadge.objects.get()
    assert (badge.username, badge.status, badge.credential) == ("learner1", "awarded", template)
    assert badge.state == "pending" and badge.external_uuid is not None and badge.issue_attempts == 1
    assert provider.issued == [(str(template.uuid), "learner1")]
    (awarded,) = public_events["awarded"]
    assert awarded.uuid == str(badge.uuid) and awarded.template.uuid == str(template.uuid)
    assert awarded.user.pii.email == "learner1@example.com" and awarded.user.id == 1001
    user = User.objects.get(username="learner1")
    assert (user.email, user.full_name, user.lms_user_id) == ("learner1@example.com", "Learner Number1", 1001)

    send_grade(COURSE_A)
    send_grade(COURSE_B)
    assert CredlyBadge.objects.count() == 1 and len(provider.issued) == 1 and len(public_events["awarded"]) == 1


def test_fulfillment_records_the_event_that_fulfilled_it(two_group_template, provider):
    _template, first, _second = two_group_template
    results = send_grade(COURSE_A)
    assert results
    fulfillment = Fulfillment.objects.get()
    assert fulfillment.requirement == first
    assert fulfillment.event_type == COURSE_PASSING_STATUS_UPDATED.event_type
    received = ReceivedEvent.objects.get()
    assert fulfillment.event_id == received.event_id and received.status == "processed"
    assert fulfillment.event_time is not None


def test_or_within_a_group(make_credly_template, add_requirement, activate, provider):
    template = make_credly_template()
    add_requirement(template, group="A", rules=[("course.course_key", "eq", COURSE_A)])
    add_requirement(template, group="A", rules=[("course.course_key", "eq", COURSE_B)])
    activate(template)
    send_grade(COURSE_B, user=learner(2))
    send_grade(COURSE_A, user=learner(3))
    assert sorted(CredlyBadge.objects.values_list("username", flat=True)) == ["learner2", "learner3"]


def test_rule_less_requirement_matches_every_event_of_its_type(make_credly_template, add_requirement, activate,
                                                                provider):
    template = make_credly_template()
    add_requirement(template)
    activate(template)
    send_grade(COURSE_C, is_passing=False)
    assert CredlyBadge.objects.get().username == "learner1"


def test_ne_rule(make_credly_template, add_requirement, activate, provider):
    template = make_credly_template()
    add_requirement(template, rules=[("course.course_key", "ne", COURSE_A)])
    activate(template)
    send_grade(COURSE_A)
    assert not BadgeProgress.objects.exists()
    send_grade(COURSE_B)
    assert CredlyBadge.objects.count() == 1


@pytest.mark.parametrize(("spelling", "is_passing"), [("yes", True), ("+", True), ("No", False), ("-", False)])
def test_boolean_spellings(make_credly_template, add_requirement, activate, provider, spelling, is_passing):
    template = make_credly_template()
    add_requirement(template, rules=[("is_passing", "eq", spelling)])
    activate(template)
    send_grade(COURSE_A, is_passing=not is_passing)
    assert not BadgeProgress.objects.exists()
    send_grade(COURSE_A, is_passing=is_passing)
    assert CredlyBadge.objects.count() == 1


def test_missing_path_fulfils_nothing(make_credly_template, add_requirement, activate, provider):
    template = make_credly_template()
    add_requirement(template, group="A", rules=[("course.no_such_field", "eq", "x")])
    add_requirement(template, group="A", rules=[("course.no_such_field", "ne", "x")])
    activate(template)
    send_grade(COURSE_A)
    assert not BadgeProgress.objects.exists() and not ReceivedEvent.objects.exists()


def test_inactive_templates_are_ignored(make_credly_template, add_requirement, activate, provider):
    template = make_credly_template()
    add_requirement(template)
    send_grade(COURSE_A)
    assert not BadgeProgress.objects.exists()
    activate(template)  # takes effect on the next event, no restart
    send_grade(COURSE_A)
    assert CredlyBadge.objects.count() == 1
    template.is_active = False
    template.save()
    send_grade(COURSE_A, user=learner(2))
    assert not BadgeProgress.objects.filter(username="learner2").exists()


def test_unconfigured_event_types_are_ignored(make_credly_template, add_requirement, activate, provider):
    template = make_credly_template()
    add_requirement(template, event_type=ENROLLMENT)
    activate(template)
    enrollment = CourseEnrollmentData(user=learner(), course=CourseData(course_key=CourseKey.from_string(COURSE_A)),
                                      mode="audit", is_active=True, creation_date=datetime.datetime.now(datetime.UTC))
    COURSE_ENROLLMENT_CREATED.send_event(enrollment=enrollment)
    assert not BadgeProgress.objects.exists() and not ReceivedEvent.objects.exists()


def test_events_without_user_data_are_dropped_with_a_warning(make_credly_template, add_requirement, activate,
                                                            provider, caplog):
    template = make_credly_template()
    add_requirement(template)
    activate(template)
    status = passing_status(COURSE_A)
    anonymous = type(status)(is_passing=True, course=status.course, user=None)
    with caplog.at_level(logging.WARNING, logger="badges.engine"):
        COURSE_PASSING_STATUS_UPDATED.send_event(course_passing_status=anonymous)
    (record,) = [r for r in caplog.records if r.name == "badges.engine"]
    assert record.levelno == logging.WARNING
    assert COURSE_PASSING_STATUS_UPDATED.event_type in record.getMessage() and "no learner" in record.getMessage()
    assert not BadgeProgress.objects.exists() and not User.objects.exists()


@pytest.fixture
def with_penalty(two_group_template, add_penalty):
    """Failing course A takes back both requirements."""
    template, first, second = two_group_template
    add_penalty(template, [first, second], rules=[("course.course_key", "eq", COURSE_A), ("is_passing", "eq", "no")])
    return template, first, second


def test_penalty_before_award_resets_progress_and_emits_nothing(with_penalty, provider, public_events):
    send_grade(COURSE_A)
    assert len(fulfilled()) == 1
    send_grade(COURSE_A, is_passing=False)
    assert fulfilled() == set()
    assert not CredlyBadge.objects.exists()
    assert public_events["revoked"] == [] and provider.revoked == []


def test_penalty_after_award_revokes_locally_and_at_the_provider_once(with_penalty, provider, public_events):
    send_grade(COURSE_A)
    send_grade(COURSE_B)
    badge = CredlyBadge.objects.get()
    issued_as = str(badge.external_uuid)

    send_grade(COURSE_A, is_passing=False)
    badge.refresh_from_db()
    assert (badge.status, badge.state) == ("revoked", "revoked")
    assert provider.revoked == [issued_as]
    (revoked,) = public_events["revoked"]
    assert revoked.uuid == str(badge.uuid)
    assert fulfilled() == set()

    send_grade(COURSE_A, is_passing=False)
    assert len(public_events["revoked"]) == 1 and provider.revoked == [issued_as]


def test_a_revoked_badge_is_not_awarded_again_by_events(with_penalty, provider, public_events):
    send_grade(COURSE_A)
    send_grade(COURSE_B)
    send_grade(COURSE_A, is_passing=False)
    send_grade(COURSE_A)
    send_grade(COURSE_B)
    badge = CredlyBadge.objects.get()
    assert badge.status == "revoked"
    assert len(public_events["awarded"]) == 1 and len(provider.issued) == 1
    assert len(fulfilled()) == 2  # progress is complete again; only the admin's re-award brings the badge back


def test_accredible_badges_are_expired_when_revoked(make_accredible_group, add_requirement, add_penalty, activate,
                                                    provider, public_events):
    group = make_accredible_group()
    requirement = add_requirement(group, rules=[("is_passing", "eq", "true")])
    add_penalty(group, [requirement], rules=[("is_passing", "eq", "false")])
    activate(group)
    send_grade(COURSE_A)
    badge = AccredibleBadge.objects.get()
    assert badge.external_id is not None and badge.state == "accepted"  # Accredible has no "pending"
    send_grade(COURSE_A, is_passing=False)
    badge.refresh_from_db()
    assert (badge.status, badge.state) == ("revoked", "expired")
    assert provider.revoked == [str(badge.external_id)]
    assert len(public_events["revoked"]) == 1


def test_the_same_event_twice_changes_nothing_the_second_time(two_group_template, provider, public_events):
    send_grade(COURSE_A)
    completing = passing_status(COURSE_B)
    metadata = COURSE_PASSING_STATUS_UPDATED.generate_signal_metadata()
    for _ in range(2):
        COURSE_PASSING_STATUS_UPDATED.send_event_with_custom_metadata(metadata, course_passing_status=completing)
    assert Fulfillment.objects.filter(event_id=metadata.id).count() == 1
    assert CredlyBadge.objects.count() == 1 and len(provider.issued) == 1 and len(public_events["awarded"]) == 1
    assert ReceivedEvent.objects.filter(event_id=metadata.id).count() == 1


def test_bus_events_take_the_same_path(two_group_template, provider):
    """consume_events re-sends with the producer's metadata and from_event_bus=True."""
    metadata = COURSE_PASSING_STATUS_UPDATED.generate_signal_metadata()
    COURSE_PASSING_STATUS_UPDATED._send_event_with_metadata(  # what the consumer calls
        metadata=metadata, from_event_bus=True, course_passing_status=passing_status(COURSE_A))
    assert Fulfillment.objects.get().event_id == metadata.id


def test_non_matching_events_write_nothing(two_group_template, provider, django_assert_max_num_queries):
    send_grade(COURSE_C)  # loads the rulebook
    with django_assert_max_num_queries(1):
        send_grade(COURSE_C, user=learner(7))
    assert not User.objects.exists() and not ReceivedEvent.objects.exists() and not BadgeProgress.objects.exists()


def test_a_failure_while_applying_is_kept_and_finished_by_the_sweep(two_group_template, provider, monkeypatch,
                                                                     settings):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    real = engine._write_fulfillments
    monkeypatch.setattr(engine, "_write_fulfillments", broken)
    send_grade(COURSE_A)
    record = ReceivedEvent.objects.get()
    assert record.status == "failed" and "database went away" in record.error
    assert not Fulfillment.objects.exists()

    monkeypatch.setattr(engine, "_write_fulfillments", real)
    assert engine.finish_pending_events() == 1
    record.refresh_from_db()
    assert record.status == "processed"
    assert Fulfillment.objects.get().event_id == record.event_id
    assert engine.finish_pending_events() == 0


def test_a_failure_while_matching_is_kept_and_finished_by_the_sweep(two_group_template, provider, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("matching blew up")

    real = engine.match_event
    monkeypatch.setattr(engine, "match_event", broken)
    assert engine.handle_event(COURSE_PASSING_STATUS_UPDATED.event_type,
                               {"course_passing_status": passing_status(COURSE_A)}) is engine.Outcome.FAILED
    record = ReceivedEvent.objects.get()
    assert (record.status, record.attempts, record.username) == ("failed", 1, "learner1")
    assert "matching blew up" in record.error and record.payload["data"]["course"]["course_key"] == COURSE_A

    assert engine.finish_pending_events() == 0  # still broken: the sweep counts the attempt and goes on
    record.refresh_from_db()
    assert (record.status, record.attempts) == ("failed", 2)

    monkeypatch.setattr(engine, "match_event", real)
    assert engine.finish_pending_events() == 1
    record.refresh_from_db()
    assert record.status == "processed" and Fulfillment.objects.get().event_id == record.event_id


def test_an_event_whose_payload_cannot_be_read_is_kept_for_an_operator(two_group_template, provider, monkeypatch):
    def unreadable(*args, **kwargs):
        raise ValueError("unexpected field type")

    monkeypatch.setattr(engine, "event_payload", unreadable)
    send_grade(COURSE_A)
    record = ReceivedEvent.objects.get()
    assert (record.status, record.username) == ("failed", "learner1")
    assert record.error == "ValueError: unexpected field type"
    assert "data" not in record.payload and record.payload["learner"]["email"] == "learner1@example.com"

    monkeypatch.undo()
    assert engine.finish_pending_events() == 0  # nothing the sweep could apply
    record.refresh_from_db()
    assert (record.status, record.attempts, record.error) == ("failed", 1, "ValueError: unexpected field type")
    assert not Fulfillment.objects.exists()


def test_old_event_ids_are_pruned_after_the_window(two_group_template, provider, settings):
    send_grade(COURSE_A)
    settings.BADGES_EVENT_DEDUP_DAYS = 0
    assert engine.prune_received_events() == 1
    assert not ReceivedEvent.objects.exists()


def test_receivers_are_connected_for_configured_event_types_only():
    def listening(signal: OpenEdxPublicSignal) -> bool:
        return any(lookup[0][0] == receivers.dispatch_uid(signal.event_type) for lookup in signal.receivers)

    assert listening(COURSE_PASSING_STATUS_UPDATED) and not listening(COURSE_ENROLLMENT_CREATED)
    with override_settings(BADGES_CONFIG={"events": [ENROLLMENT]}):
        connected = receivers.connect_receivers()
    try:
        assert connected == [ENROLLMENT] and listening(COURSE_ENROLLMENT_CREATED)
    finally:
        receivers.disconnect_receivers(connected)
    assert not listening(COURSE_ENROLLMENT_CREATED)
