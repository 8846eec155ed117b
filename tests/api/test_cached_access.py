"""What the API keeps between requests (checked tokens, validated query strings, the catalogue,
throttle counts) never serves stale or forged data."""
from __future__ import annotations

import jwt
import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from rest_framework.test import APIClient

from badges.api.access import VerifiedTokens, verification_keys, verified_tokens
from badges.host import user_model
from badges.models import BadgeRequirement
from tests.api.conftest import jwt_for

pytestmark = pytest.mark.django_db
PROGRESS, BADGES = "/api/badges/v1/progress/", "/api/badges/v1/badges/"


def client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"JWT {token}")
    return client


def test_a_checked_token_is_served_from_the_cache_until_it_expires():
    token = jwt_for("ann")
    assert client_with(token).get(PROGRESS).status_code == 200
    claims = verified_tokens.get(token, verification_keys())
    assert claims["preferred_username"] == "ann"

    expired = jwt_for("ann", expires_in=-60)
    # as if it had been checked while still valid: the cache must not outlive the token's exp
    verified_tokens.put(expired, jwt.decode(expired, options={"verify_signature": False}), verification_keys())

    assert client_with(expired).get(PROGRESS).status_code == 401
    assert verified_tokens.get(expired, verification_keys()) is None


def test_the_same_claims_with_another_signature_are_checked_afresh():
    token = jwt_for("ann")
    assert client_with(token).get(PROGRESS).status_code == 200
    header_and_claims = token.rsplit(".", 1)[0]
    forged = f"{header_and_claims}.{jwt_for('ann', key='some-other-key-that-is-32-bytes-long').rsplit('.', 1)[1]}"
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")

    assert client_with(forged).get(PROGRESS).status_code == 401
    assert client_with(tampered).get(PROGRESS).status_code == 401
    assert client_with(token).get(PROGRESS).status_code == 200


def test_a_changed_verification_key_drops_checked_tokens(settings):
    token = jwt_for("ann")
    assert client_with(token).get(PROGRESS).status_code == 200

    settings.JWT_AUTH = {**django_settings.JWT_AUTH, "JWT_ISSUERS": [
        {**django_settings.JWT_AUTH["JWT_ISSUERS"][0], "SECRET_KEY": "the-rotated-secret-that-is-32-bytes-long"}]}

    assert client_with(token).get(PROGRESS).status_code == 401


def test_a_deactivated_user_is_refused_on_the_next_request():
    client = client_with(jwt_for("ann"))
    assert client.get(PROGRESS).status_code == 200
    user_model().objects.filter(username="ann").update(is_active=False)

    assert client.get(PROGRESS).status_code == 401
    assert client.get(BADGES).status_code == 401


def test_staff_rights_follow_the_stored_user_and_the_token_claims():
    learner = client_with(jwt_for("ann"))
    assert learner.get(BADGES, {"username": "bob"}).status_code == 403
    user = user_model().objects.get(username="ann")
    user.is_staff = True
    user.save()

    # the token says ann is no administrator: the library's update from the claims applies, as before
    assert learner.get(BADGES, {"username": "bob"}).status_code == 403
    assert user_model().objects.get(username="ann").is_staff is False


def test_a_user_changed_since_the_token_was_checked_is_updated_from_its_claims():
    client = client_with(jwt_for("ann", email="ann@example.com"))
    assert client.get(PROGRESS).status_code == 200
    user_model().objects.filter(username="ann").update(email="changed@example.com")

    assert client.get(PROGRESS).status_code == 200
    assert user_model().objects.get(username="ann").email == "ann@example.com"


def test_the_cache_keeps_only_the_most_recently_used_tokens():
    tokens = VerifiedTokens(size=2)
    keys = verification_keys()
    for name in ("a", "b", "c"):
        tokens.put(name, {"exp": 2**40}, keys)

    assert tokens.get("a", keys) is None
    assert tokens.get("c", keys) == {"exp": 2**40}
    assert tokens.get("c", ("other keys",)) is None


def test_a_validated_query_string_carries_no_permission(api_as):
    query = {"username": "bob"}
    assert api_as("ann").get(BADGES, query).status_code == 403
    assert api_as("staff", administrator=True).get(BADGES, query).status_code == 200
    assert api_as("ann").get(BADGES, query).status_code == 403
    assert api_as("ann").get(BADGES, {"page_size": 500}).status_code == 400
    assert api_as("ann").get(BADGES, {"page_size": 500}).status_code == 400


def test_badges_show_their_templates_as_configured_now(api_as, make_credly_template, make_badge):
    first = make_credly_template(name="first")
    make_badge(first, "ann")
    client = api_as("ann")
    assert [row["template"]["name"] for row in client.get(BADGES).json()["results"]] == ["first"]

    first.name = "renamed"
    first.save()
    second = make_credly_template(name="second")
    make_badge(second, "ann")

    assert sorted(row["template"]["name"] for row in client.get(BADGES).json()["results"]) == ["renamed", "second"]


def test_progress_follows_a_configuration_change(api_as, make_credly_template):
    template = make_credly_template(name="t", is_active=True)
    requirement = BadgeRequirement.objects.create(template=template, event_type="e", group="A", description="old")
    client = api_as("ann")
    assert client.get(PROGRESS).json()["results"][0]["groups"][0]["requirements"][0]["description"] == "old"

    requirement.description = "new"
    requirement.save()
    BadgeRequirement.objects.create(template=template, event_type="e", group="B")

    groups = client.get(PROGRESS).json()["results"][0]["groups"]
    assert groups[0]["requirements"][0]["description"] == "new"
    assert [group["group"] for group in groups] == ["A", "B"]


def test_throttle_keeps_two_counts_per_learner_whatever_the_number_of_requests(api_as, settings):
    settings.BADGES_API_LEARNER_THROTTLE_RATE = "1000/minute"
    learner = api_as("ann")
    for _ in range(30):
        assert learner.get(BADGES).status_code == 200

    entries = {key: cache.get(key.split(":", 2)[-1]) for key in cache._cache}  # the local-memory backend
    assert len(entries) <= 2
    assert set(entries.values()) <= set(range(31))
    assert sum(entries.values()) == 30


def test_a_throttled_learner_is_told_when_to_come_back(api_as, settings):
    settings.BADGES_API_LEARNER_THROTTLE_RATE = "2/minute"
    learner = api_as("ann")
    codes = [learner.get(BADGES).status_code for _ in range(3)]
    response = learner.get(BADGES)

    assert codes == [200, 200, 429]
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 120


def test_fast_json_is_byte_for_byte_drfs_json():
    import datetime
    import decimal
    import uuid

    from django.utils.translation import gettext_lazy
    from rest_framework.renderers import JSONRenderer

    from badges.api.rendering import FastJSONRenderer

    data = {"when": datetime.datetime(2026, 5, 1, 9, 30, 0, 123456, tzinfo=datetime.UTC),
            "naive": datetime.datetime(2026, 5, 1, 9, 30), "day": datetime.date(2026, 5, 1),
            "id": uuid.UUID("0b5e8a47-3f0c-4f39-9d62-2b7c3fd0c6a2"), "ratio": 1 / 3, "none": None,
            "text": "Zoë \u2028 line", "lazy": gettext_lazy("Invalid page."), "amount": decimal.Decimal("1.5"),
            "rows": [{"fulfilled": True}, (1, 2)], 7: "int key"}

    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)
    assert FastJSONRenderer().render(data, "application/json; indent=2") == JSONRenderer().render(
        data, "application/json; indent=2")
