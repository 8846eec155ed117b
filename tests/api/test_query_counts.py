"""Each request costs the same number of queries whether the page holds 1 or 200 templates or badges."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from badges.models import BadgeProgress, BadgeRequirement, CredlyBadgeTemplate, Fulfillment

pytestmark = pytest.mark.django_db


@pytest.fixture
def templates(make_credly_template):
    """``templates(n)``: n active templates of two groups, three requirements each, one fulfilled by ann."""
    def make(count: int) -> list[CredlyBadgeTemplate]:
        made = []
        for number in range(count):
            template = make_credly_template(name=f"t{number:03}")
            requirements = [BadgeRequirement.objects.create(template=template, event_type="e", group=group)
                            for group in "AAB"]
            progress = BadgeProgress.objects.create(username="ann", template=template)
            Fulfillment.objects.create(progress=progress, requirement=requirements[0])
            template.is_active = True
            template.save()
            made.append(template)
        return made

    return make


def queries_of(client, url: str, query: dict) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, query)
    assert response.status_code == 200
    return len(queries), response.json()


@pytest.mark.parametrize("count", [1, 200])
def test_progress_queries_do_not_grow_with_templates(api_as, templates, count):
    templates(count)
    client = api_as("ann")
    client.get("/api/badges/v1/progress/")  # the first request creates the user from the JWT

    queries, body = queries_of(client, "/api/badges/v1/progress/", {"page_size": 200})

    assert len(body["results"]) == count
    assert all(len(row["groups"]) == 2 for row in body["results"])
    # the user, the configuration version, ann's fulfillments (templates and requirements are cached)
    assert queries == 3


@pytest.mark.parametrize("count", [1, 200])
def test_progress_queries_after_a_configuration_change(api_as, templates, count):
    made = templates(count)
    client = api_as("ann")
    client.get("/api/badges/v1/progress/")
    made[0].name = "renamed"
    made[0].save()

    queries, body = queries_of(client, "/api/badges/v1/progress/", {"page_size": 200})

    assert "renamed" in [row["template"]["name"] for row in body["results"]]
    # as above, plus the templates and their requirements, read again for the new version
    assert queries == 5


@pytest.mark.parametrize("count", [1, 200])
def test_badge_queries_do_not_grow_with_badges(api_as, templates, make_badge, count):
    for template in templates(count):
        make_badge(template, "ann")
    client = api_as("ann")
    client.get("/api/badges/v1/badges/")

    queries, body = queries_of(client, "/api/badges/v1/badges/", {"page_size": 200})

    assert len(body["results"]) == count
    # user, configuration version (templates come from the catalogue), the page with the count of all
    assert queries == 3


@pytest.mark.parametrize("count", [1, 200])
def test_staff_filtered_badge_queries_do_not_grow(api_as, templates, make_badge, count):
    for template in templates(count):
        make_badge(template, "bob", state="accepted")
    client = api_as("staff", administrator=True)
    client.get("/api/badges/v1/badges/")

    queries, body = queries_of(client, "/api/badges/v1/badges/",
                               {"page_size": 200, "username": "bob", "provider_state": "accepted"})

    assert body["count"] == count
    assert queries == 3
