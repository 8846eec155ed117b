"""``seed_demo`` against the fake provider (real HTTP, in a thread): what it creates, and that it is idempotent."""
from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from badges.management.commands.seed_demo import DEMO_COURSES, DEMO_ORGANIZATION_UUID, DEMO_TEMPLATE_UUID
from badges.models import BadgeRequirement, CredlyBadgeTemplate, CredlyOrganization, DataRule
from badges.testing.fake_provider import FakeProvider


@pytest.fixture
def fake(settings):
    with FakeProvider() as provider:
        settings.BADGES_CONFIG = provider.badges_config()
        yield provider


def requirement_set(template: CredlyBadgeTemplate) -> list[tuple[str, str]]:
    return sorted(
        (r.group, DataRule.objects.get(requirement=r, data_path="course.course_key").value)
        for r in BadgeRequirement.objects.filter(template=template)
    )


@pytest.mark.django_db
def test_seed_demo_creates_an_active_two_group_template_once(fake) -> None:
    call_command("seed_demo")
    call_command("seed_demo")

    organization = CredlyOrganization.objects.get()
    assert str(organization.uuid) == DEMO_ORGANIZATION_UUID
    template = CredlyBadgeTemplate.objects.get()
    assert str(template.uuid) == DEMO_TEMPLATE_UUID
    assert template.is_active
    assert template.organization == organization
    assert requirement_set(template) == [
        ("A", DEMO_COURSES["A"]), ("B", DEMO_COURSES["B"]), ("B", DEMO_COURSES["B-alternative"]),
    ]
    assert DataRule.objects.filter(data_path="is_passing", value="true").count() == 3
    assert [t["id"] for t in fake.server.state.credly_templates[DEMO_ORGANIZATION_UUID].values()] == [
        DEMO_TEMPLATE_UUID
    ]


@pytest.mark.django_db
def test_seed_demo_leaves_requirements_an_operator_changed(fake) -> None:
    call_command("seed_demo")
    BadgeRequirement.objects.filter(group="B").delete()

    call_command("seed_demo")

    assert requirement_set(CredlyBadgeTemplate.objects.get()) == [("A", DEMO_COURSES["A"])]


@pytest.mark.django_db
def test_seed_demo_refuses_to_run_against_a_real_provider(settings) -> None:
    settings.BADGES_CONFIG = {}
    with pytest.raises(CommandError, match="fake provider"):
        call_command("seed_demo")
    assert not CredlyOrganization.objects.exists()


@pytest.mark.django_db
def test_seeded_demo_organization_shows_when_its_key_expires(fake, staff_client) -> None:
    call_command("seed_demo")
    organization = CredlyOrganization.objects.get()
    assert organization.api_key_expires_at is not None
    page = staff_client.get("/admin/badges/credlyorganization/").content.decode()
    assert organization.api_key_expires_at.date().isoformat() in page
    assert "unknown" not in page


@pytest.mark.django_db
def test_demo_events_fail_when_no_receiver_handles_them(fake) -> None:
    """Without a connected receiver nothing is recorded: the command must not say it was handled."""
    from openedx_events.learning.signals import COURSE_PASSING_STATUS_UPDATED

    from badges.receivers import dispatch_uid, receive_event

    event_type = COURSE_PASSING_STATUS_UPDATED.event_type
    assert COURSE_PASSING_STATUS_UPDATED.disconnect(receive_event, dispatch_uid=dispatch_uid(event_type))
    try:
        with pytest.raises(CommandError, match="no receiver is connected"):
            call_command("send_demo_events", "--in-process", "--course", DEMO_COURSES["A"])
    finally:
        COURSE_PASSING_STATUS_UPDATED.connect(receive_event, dispatch_uid=dispatch_uid(event_type))
