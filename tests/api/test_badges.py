"""The badges resource: every field for both providers, staff filters and pagination."""
from __future__ import annotations

import uuid

import pytest

URL = "/api/badges/v1/badges/"
pytestmark = pytest.mark.django_db


def test_every_field_of_a_credly_and_an_accredible_badge(api_as, make_credly_template, make_accredible_group,
                                                         make_badge):
    credly_template = make_credly_template(name="Credly one", icon="https://img/c.png")
    accredible_group = make_accredible_group(name="Accredible one")
    credly = make_badge(credly_template, "ann", state="accepted", external_uuid=uuid.uuid4())
    accredible = make_badge(accredible_group, "ann", state="created", external_id=4242, status="revoked")

    response = api_as("ann").get(URL)

    assert response.status_code == 200
    rows = {row["uuid"]: row for row in response.json()["results"]}
    assert rows[str(credly.uuid)] == {
        "uuid": str(credly.uuid), "username": "ann",
        "template": {"uuid": str(credly_template.uuid), "name": "Credly one", "image": "https://img/c.png",
                     "provider": "credly"},
        "status": "awarded", "provider_state": "accepted", "external_id": str(credly.external_uuid),
        "issued_at": rows[str(credly.uuid)]["issued_at"],
        "url": f"https://credly.com/badges/{credly.external_uuid}",
    }
    assert rows[str(credly.uuid)]["issued_at"].startswith(credly.created.date().isoformat())
    assert rows[str(accredible.uuid)]["status"] == "revoked"
    assert rows[str(accredible.uuid)]["provider_state"] == "created"
    assert rows[str(accredible.uuid)]["external_id"] == "4242"
    assert rows[str(accredible.uuid)]["url"] == "https://www.credential.net/4242"
    assert rows[str(accredible.uuid)]["template"]["provider"] == "accredible"


def test_no_url_before_the_provider_knows_the_badge(api_as, make_credly_template, make_badge):
    make_badge(make_credly_template(), "ann")

    [row] = api_as("ann").get(URL).json()["results"]

    assert row["external_id"] is None and row["url"] is None


def test_sandbox_urls_follow_the_configuration(api_as, make_credly_template, make_badge, settings):
    settings.BADGES_CONFIG = {"credly": {"USE_SANDBOX": True}}
    badge = make_badge(make_credly_template(), "ann", external_uuid=uuid.uuid4())

    [row] = api_as("ann").get(URL).json()["results"]

    assert row["url"] == f"https://sandbox.credly.com/badges/{badge.external_uuid}"


def test_a_learner_sees_only_their_own_badges(api_as, make_credly_template, make_badge):
    template = make_credly_template()
    make_badge(template, "ann")
    make_badge(template, "bob")

    rows = api_as("ann").get(URL).json()["results"]

    assert [row["username"] for row in rows] == ["ann"]


@pytest.fixture
def many_badges(make_credly_template, make_accredible_group, make_badge):
    first, second = make_credly_template(name="first"), make_accredible_group(name="second")
    make_badge(first, "ann", state="accepted")
    make_badge(first, "bob", state="error", status="revoked")
    make_badge(second, "bob", state="accepted")
    make_badge(second, "cid", state="expired", status="revoked")
    return first, second


def test_staff_see_everyone_and_filter(api_as, many_badges):
    first, second = many_badges
    staff = api_as("staff", administrator=True)

    def usernames(**query):
        response = staff.get(URL, query)
        assert response.status_code == 200
        return sorted(row["username"] for row in response.json()["results"])

    assert usernames() == ["ann", "bob", "bob", "cid"]
    assert usernames(username="bob") == ["bob", "bob"]
    assert usernames(template=str(first.uuid)) == ["ann", "bob"]
    assert usernames(status="revoked") == ["bob", "cid"]
    assert usernames(provider_state="accepted") == ["ann", "bob"]
    assert usernames(provider_state="accepted", template=str(second.uuid)) == ["bob"]
    assert usernames(username="nobody") == []


def test_staff_pages(api_as, many_badges):
    staff = api_as("staff", administrator=True)

    pages = [staff.get(URL, {"page_size": 3, "page": page}).json() for page in (1, 2)]

    assert [page["count"] for page in pages] == [4, 4]
    assert [len(page["results"]) for page in pages] == [3, 1]
    assert pages[0]["next"] and pages[1]["next"] is None
    seen = [row["uuid"] for page in pages for row in page["results"]]
    assert len(set(seen)) == 4


@pytest.mark.parametrize("query", [{"status": "lost"}, {"provider_state": "nope"}, {"template": "x"}])
def test_bad_filter_is_a_400_naming_it(api_as, query):
    response = api_as("staff", administrator=True).get(URL, query)

    assert response.status_code == 400
    assert set(response.json()) == set(query)


def test_a_page_past_the_end_is_a_404(api_as, many_badges):
    staff = api_as("staff", administrator=True)

    past = staff.get(URL, {"page_size": 3, "page": 3})
    zero = staff.get(URL, {"page_size": 3, "page": 0})

    assert (past.status_code, zero.status_code) == (404, 400)
    assert past.json() == {"detail": "Invalid page."}
    assert staff.get(URL, {"page_size": 3, "page": "2.0"}).json()["results"] == staff.get(
        URL, {"page_size": 3, "page": 2}).json()["results"]


def test_counts_follow_each_filter_and_the_data(api_as, many_badges, make_badge):
    second = many_badges[1]
    staff = api_as("staff", administrator=True)

    def count(**query):
        return staff.get(URL, {"page_size": 1, **query}).json()["count"]

    assert (count(), count(username="ann"), count(template=str(second.uuid))) == (4, 1, 2)
    assert (count(status="revoked"), count(username="ann", provider_state="accepted")) == (2, 1)
    make_badge(second, "ann", state="accepted")
    # the same query shapes, compiled on the first requests, count the new badge
    assert (count(), count(username="ann"), count(template=str(second.uuid))) == (5, 2, 3)
    assert count(username="ann", provider_state="accepted") == 2
    assert api_as("nobody").get(URL).json() == {"count": 0, "next": None, "previous": None, "results": []}
