"""The progress resource: every field, what never shows, the staff filter and pagination."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from badges.models import BadgeProgress, Fulfillment

URL = "/api/badges/v1/progress/"
pytestmark = pytest.mark.django_db


def fulfil(username, requirement, *, event_id=None, event_time=None):
    progress, _ = BadgeProgress.objects.get_or_create(username=username, template=requirement.template)
    return Fulfillment.objects.create(progress=progress, requirement=requirement, event_id=event_id or uuid.uuid4(),
                                      event_type=requirement.event_type, event_time=event_time)


def test_every_field_of_a_partly_fulfilled_template(api_as, make_credly_template, add_requirement, credly_org):
    template = make_credly_template(name="Data science", description="Pass both courses", icon="https://img/x.png")
    passed_a = add_requirement(template, group="A")
    passed_a.description = "Pass course A"
    passed_a.save()
    add_requirement(template, group="B")
    template.is_active = True
    template.save()
    event_id = uuid.uuid4()
    when = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    fulfil("ann", passed_a, event_id=event_id, event_time=when)

    response = api_as("ann").get(URL)

    assert response.status_code == 200
    assert response.data["count"] == 1
    [row] = response.json()["results"]
    assert row["template"] == {
        "uuid": str(template.uuid), "name": "Data science", "description": "Pass both courses",
        "image": "https://img/x.png", "provider": "credly",
        "dashboard_url": f"https://credly.com/mgmt/organizations/{credly_org.uuid}/badges/templates/"
                         f"{template.uuid}/details",
    }
    assert [group["group"] for group in row["groups"]] == ["A", "B"]
    group_a, group_b = row["groups"]
    assert group_a["fulfilled"] is True and group_b["fulfilled"] is False
    assert group_a["requirements"] == [{
        "description": "Pass course A", "event_type": passed_a.event_type, "fulfilled": True,
        "fulfilled_at": "2026-05-01T12:00:00Z", "event_id": str(event_id),
    }]
    assert group_b["requirements"][0]["fulfilled"] is False
    assert group_b["requirements"][0]["event_id"] is None
    assert row["ratio"] == 0.5
    assert row["complete"] is False


def test_alternatives_in_one_group_and_completion(api_as, make_accredible_group, add_requirement):
    group = make_accredible_group(name="Alt", is_active=False)
    first = add_requirement(group, group="A")
    add_requirement(group, group="A")
    group.is_active = True
    group.save()
    fulfil("ann", first)

    [row] = api_as("ann").get(URL).json()["results"]

    assert row["template"]["provider"] == "accredible"
    assert row["template"]["dashboard_url"] is None
    assert [r["fulfilled"] for r in row["groups"][0]["requirements"]] == [True, False]
    assert row["ratio"] == 1.0 and row["complete"] is True


def test_inactive_draft_and_requirementless_templates_never_show(api_as, make_credly_template, add_requirement):
    shown = make_credly_template(name="shown")
    add_requirement(shown)
    shown.is_active = True
    shown.save()
    inactive = make_credly_template(name="inactive")
    add_requirement(inactive)
    draft = make_credly_template(name="draft", state="draft")
    add_requirement(draft)
    draft.is_active = True
    draft.save()
    make_credly_template(name="no requirements", is_active=True)

    names = [row["template"]["name"] for row in api_as("ann").get(URL).json()["results"]]

    assert names == ["shown"]


def test_only_the_callers_fulfillments_count(api_as, make_credly_template, add_requirement):
    template = make_credly_template()
    requirement = add_requirement(template)
    template.is_active = True
    template.save()
    fulfil("bob", requirement)

    [row] = api_as("ann").get(URL).json()["results"]

    assert row["complete"] is False and row["ratio"] == 0.0


def test_staff_read_a_learners_progress_for_one_template(api_as, make_credly_template, add_requirement):
    templates = []
    for name in ("one", "two"):
        template = make_credly_template(name=name)
        fulfil("bob", add_requirement(template))
        template.is_active = True
        template.save()
        templates.append(template)

    response = api_as("staff", administrator=True).get(URL, {"username": "bob", "template": templates[1].uuid})

    [row] = response.json()["results"]
    assert row["template"]["name"] == "two" and row["complete"] is True


def test_pages(api_as, make_credly_template, add_requirement):
    for number in range(5):
        template = make_credly_template(name=f"t{number}")
        add_requirement(template)
        template.is_active = True
        template.save()

    first = api_as("ann").get(URL, {"page_size": 2}).json()
    last = api_as("ann").get(URL, {"page_size": 2, "page": 3}).json()

    assert first["count"] == 5 and [r["template"]["name"] for r in first["results"]] == ["t0", "t1"]
    assert first["next"].endswith("page=2&page_size=2") and first["previous"] is None
    assert [r["template"]["name"] for r in last["results"]] == ["t4"] and last["next"] is None


@pytest.mark.parametrize("query", [{"template": "not-a-uuid"}, {"page": "99"}])
def test_bad_query_is_a_client_error(api_as, query):
    response = api_as("ann").get(URL, query)

    assert response.status_code in {400, 404}
    assert "detail" in response.json() or "template" in response.json()
