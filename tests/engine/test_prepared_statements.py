"""The prepared statements of the event path and of issuing read and write what the ORM would."""
from __future__ import annotations

import datetime
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from badges import issuing, sql
from badges.models import BadgeProgress, BadgeState, CredlyBadge, CredlyBadgeTemplate, ReceivedEvent

User = get_user_model()

pytestmark = pytest.mark.django_db(transaction=True)


def field_values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


@pytest.fixture
def badge(make_credly_template) -> CredlyBadge:
    template = make_credly_template()
    User.objects.create(username="ada", email="ada@example.com", full_name="Ada L", lms_user_id=7)
    return CredlyBadge.objects.create(
        credential_content_type=ContentType.objects.get_for_model(CredlyBadgeTemplate), credential_id=template.pk,
        username="ada", status="awarded", state=BadgeState.NO_RESPONSE, external_uuid=uuid.uuid4(),
        issue_attempts=2, last_attempt_at=timezone.now(), provider_error="timed out",
    )


def test_the_locked_badge_is_the_orm_badge_with_its_recipient(badge):
    with transaction.atomic():
        locked = issuing._locked_badge(issuing.KINDS["credly"], str(badge.uuid))
    assert field_values(locked) == field_values(CredlyBadge.objects.get(pk=badge.pk))
    assert issuing.recipient_of(locked).email == "ada@example.com"
    assert issuing.recipient_of(locked).lms_user_id == 7
    with transaction.atomic():
        assert issuing._locked_badge(issuing.KINDS["credly"], str(uuid.uuid4())) is None


def test_the_template_comes_with_its_provider_account(badge):
    template = issuing._template_with_account(issuing.KINDS["credly"], badge.credential_id)
    expected = CredlyBadgeTemplate.objects.select_related("organization").get(pk=badge.credential_id)
    assert field_values(template) == field_values(expected)
    assert field_values(template.organization) == field_values(expected.organization)
    with pytest.raises(CredlyBadgeTemplate.DoesNotExist):
        issuing._template_with_account(issuing.KINDS["credly"], badge.credential_id + 1000)


def test_provider_side_changes_are_written_as_save_would(badge):
    later = timezone.now() + datetime.timedelta(minutes=5)
    issuing.change_badge(badge, state=BadgeState.ACCEPTED, provider_error="", attempt_ended=True, retry_at=later)
    stored = CredlyBadge.objects.get(pk=badge.pk)
    assert (stored.state, stored.provider_error, stored.next_attempt_at) == (BadgeState.ACCEPTED, "", later)
    assert field_values(stored) == field_values(badge)


def test_inserted_rows_hold_what_the_orm_would_store(make_credly_template):
    template = make_credly_template()
    event_time = timezone.now() - datetime.timedelta(hours=1)
    event = ReceivedEvent(event_id=uuid.uuid4(), event_type="t", event_time=event_time, username="ada",
                          payload={"data": {"text": "Intro \u00e9t\u00e9", "n": 1}}, status="processed", attempts=1)
    assert sql.insert_rows(ReceivedEvent, [event]) is None
    stored = ReceivedEvent.objects.get()
    assert (stored.event_id, stored.event_time, stored.payload) == (event.event_id, event_time, event.payload)
    assert stored.received_at is not None
    rows = [BadgeProgress(username=name, lms_user_id=None, template=template) for name in ("ada", "bob")]
    ids = sql.insert_rows(BadgeProgress, rows, return_ids=True)
    if ids is not None:  # databases that return ids from a multi-row insert
        assert dict(BadgeProgress.objects.values_list("id", "username")) == dict(zip(ids, ["ada", "bob"], strict=True))
    assert BadgeProgress.objects.filter(created__isnull=False, modified__isnull=False).count() == 2
