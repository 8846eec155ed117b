"""Badge progress admin: read-only, summarized with the pure rules, constant queries per page."""
from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from badges.conf import COURSE_PASSING_STATUS_UPDATED
from badges.models import BadgeProgress, Fulfillment
from tests.admin.conftest import admin_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_progress(make_credly_template, add_requirement):
    """A template with groups A (two alternatives) and B, and a learner who fulfilled ``groups``."""

    def make(username: str, groups: str) -> BadgeProgress:
        template = make_credly_template(name=f"Template of {username}")
        requirements = {
            "A": add_requirement(template, group="A"),
            "A2": add_requirement(template, group="A"),
            "B": add_requirement(template, group="B"),
        }
        progress = BadgeProgress.objects.create(username=username, template=template)
        for key in groups.split():
            Fulfillment.objects.create(
                progress=progress, requirement=requirements[key], event_id=uuid.uuid4(),
                event_type=COURSE_PASSING_STATUS_UPDATED, event_time=timezone.now(),
            )
        return progress

    return make


def row_of(response, progress: BadgeProgress) -> dict[str, str]:
    changelist = response.context["cl"]
    admin = changelist.model_admin
    obj = next(obj for obj in changelist.result_list if obj.pk == progress.pk)
    return {
        "fulfilled": admin.fulfilled_groups(obj), "ratio": admin.ratio(obj), "complete": admin.complete(obj),
    }


def test_changelist_summarizes_progress(staff_client, make_progress):
    half = make_progress("ann", "A2")
    done = make_progress("bob", "A B")
    response = staff_client.get(admin_url(BadgeProgress, "changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "ann" in html and "Template of bob" in html
    assert row_of(response, half) == {"fulfilled": "A of A, B", "ratio": "50%", "complete": False}
    assert row_of(response, done) == {"fulfilled": "A, B of A, B", "ratio": "100%", "complete": True}


def test_changelist_queries_do_not_grow_with_rows(staff_client, make_progress, django_assert_max_num_queries):
    make_progress("learner0", "A")
    url = admin_url(BadgeProgress, "changelist")
    with CaptureQueriesContext(connection) as one_row:
        assert staff_client.get(url).status_code == 200
    for n in range(1, 15):
        make_progress(f"learner{n}", "A B")
    with django_assert_max_num_queries(len(one_row.captured_queries)):
        response = staff_client.get(url)
    assert len(response.context["cl"].result_list) == 15


def test_change_page_is_read_only_with_fulfillments(staff_client, make_progress):
    progress = make_progress("ann", "A B")
    response = staff_client.get(admin_url(progress))
    assert response.status_code == 200
    html = response.content.decode()
    for fulfillment in progress.fulfillments.all():
        assert str(fulfillment.event_id) in html
    assert COURSE_PASSING_STATUS_UPDATED in html
    assert not response.context["has_change_permission"]
    assert 'name="_save"' not in html


def test_progress_cannot_be_added_changed_or_deleted(staff_client, make_progress):
    progress = make_progress("ann", "A")
    assert staff_client.get(admin_url(BadgeProgress, "add")).status_code == 403
    assert staff_client.post(admin_url(progress), {"username": "eve"}).status_code == 403
    assert staff_client.post(admin_url(progress, "delete"), {"post": "yes"}).status_code == 403
    progress.refresh_from_db()
    assert progress.username == "ann"
