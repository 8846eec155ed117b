"""The operator's "why not yet" page for one learner."""
from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from badges.models import BadgeProgress, CredlyBadge, CredlyBadgeTemplate, CredlyWebhookEvent, Fulfillment

pytestmark = pytest.mark.django_db


def page_url(username: str = "") -> str:
    url = reverse("admin:badges_badgeprogress_learner")
    return f"{url}?username={username}" if username else url


def section(html: str, template: CredlyBadgeTemplate) -> str:
    found = re.search(rf'<div class="module" data-template="{template.uuid}">(.*?)\n</div>', html, re.S)
    assert found, f"no section for {template}"
    return found.group(1)


@pytest.fixture
def course_badge(make_credly_template, add_requirement, credly_org):
    template = make_credly_template(name="Course badge")
    passed = add_requirement(template, group="A", rules=[("course.course_key", "eq", "course-v1:X+A+1")])
    add_requirement(template, group="B", rules=[("course.course_key", "eq", "course-v1:X+B+1")])
    add_requirement(template, group="B", rules=[("course.course_key", "eq", "course-v1:X+B+2")])
    template.is_active = True
    template.save()
    return template, passed


def test_fulfilled_and_missing_groups_with_what_would_fulfil_them(staff_client, course_badge):
    template, passed = course_badge
    progress = BadgeProgress.objects.create(username="ann", template=template)
    event_id = uuid.uuid4()
    Fulfillment.objects.create(progress=progress, requirement=passed, event_id=event_id,
                               event_type=passed.event_type, event_time=datetime(2026, 5, 1, 9, 30, tzinfo=UTC))

    response = staff_client.get(page_url("ann"))

    assert response.status_code == 200
    html = section(response.content.decode(), template)
    assert "50% of groups" in html
    fulfilled = re.findall(r'<tr class="fulfilled">(.*?)</tr>', html, re.S)
    missing = re.findall(r'<tr class="missing">(.*?)</tr>', html, re.S)
    assert len(fulfilled) == 1 and str(event_id) in fulfilled[0] and "2026" in fulfilled[0]
    assert passed.event_type in fulfilled[0]
    assert len(missing) == 2 and all("missing (any one)" in row for row in missing)
    assert "course-v1:X+B+1" in missing[0] and "course-v1:X+B+2" in missing[1]
    assert "No badge yet" in html


def test_badge_history_at_the_provider(staff_client, course_badge):
    template, _ = course_badge
    external = uuid.uuid4()
    CredlyBadge.objects.create(
        credential_content_type=ContentType.objects.get_for_model(CredlyBadgeTemplate), credential_id=template.pk,
        username="ann", state="error", external_uuid=external, issue_attempts=4,
        provider_error="422: recipient email is invalid", next_attempt_at=datetime(2026, 6, 1, tzinfo=UTC))
    CredlyWebhookEvent.objects.create(
        event_id=uuid.uuid4(), organization=template.organization, event_type="badge.state.changed",
        credly_badge_id=external, status="applied", occurred_at_time=datetime(2026, 5, 2, tzinfo=UTC))

    html = section(staff_client.get(page_url("ann")).content.decode(), template)

    assert "422: recipient email is invalid" in html
    assert re.search(r"<th>Attempts</th><td>4", html)
    assert "badge.state.changed" in html and "applied" in html
    assert "No badge yet" not in html


def test_another_learners_records_do_not_show(staff_client, course_badge):
    template, passed = course_badge
    progress = BadgeProgress.objects.create(username="bob", template=template)
    Fulfillment.objects.create(progress=progress, requirement=passed, event_id=uuid.uuid4())

    html = section(staff_client.get(page_url("ann")).content.decode(), template)

    assert '<tr class="fulfilled">' not in html


def test_query_count_does_not_grow_with_templates(staff_client, make_credly_template, add_requirement):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(page_url("ann")).status_code == 200
        return len(captured)

    def add_templates(count: int) -> None:
        for number in range(count):
            template = make_credly_template(name=f"t{number}")
            add_requirement(template, rules=[("course.course_key", "eq", f"k{number}")])
            template.is_active = True
            template.save()

    add_templates(1)
    with_one = queries()
    add_templates(30)

    assert queries() == with_one


def test_progress_list_links_to_the_page(staff_client, course_badge):
    template, _ = course_badge
    BadgeProgress.objects.create(username="ann b", template=template)

    html = staff_client.get(reverse("admin:badges_badgeprogress_changelist")).content.decode()

    assert f'href="{page_url()}?username=ann+b"' in html


def test_needs_the_progress_view_permission(client, django_user_model):
    clerk = django_user_model.objects.create(username="clerk", is_staff=True)
    client.force_login(clerk)

    assert client.get(page_url("ann")).status_code == 403
