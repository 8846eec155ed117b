"""Who may read what: anonymous callers, bad tokens, learners, staff, a configured permission, throttling."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from badges.host import user_model
from tests.api.conftest import jwt_for

pytestmark = pytest.mark.django_db
URLS = ["/api/badges/v1/progress/", "/api/badges/v1/badges/"]


@pytest.mark.parametrize("url", URLS)
def test_anonymous_gets_401(url):
    response = APIClient().get(url)

    assert response.status_code == 401


@pytest.mark.parametrize("url", URLS)
def test_garbage_token_gets_401(url):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="JWT not-a-jwt")

    assert client.get(url).status_code == 401


@pytest.mark.parametrize("url", URLS)
def test_token_signed_with_another_key_or_expired_gets_401(url):
    for token in (jwt_for("ann", key="some-other-key-that-is-32-bytes-long"), jwt_for("ann", expires_in=-60)):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"JWT {token}")
        assert client.get(url).status_code == 401


@pytest.mark.parametrize("url", URLS)
def test_a_learner_asking_for_someone_else_gets_403_whether_or_not_they_exist(url, api_as):
    user_model().objects.create(username="bob")

    existing = api_as("ann").get(url, {"username": "bob"})
    missing = api_as("ann").get(url, {"username": "nobody-by-this-name"})

    assert existing.status_code == missing.status_code == 403
    assert existing.json() == missing.json()


@pytest.mark.parametrize("url", URLS)
def test_a_learner_naming_themself_is_served(url, api_as):
    assert api_as("ann").get(url, {"username": "ann"}).status_code == 200


@pytest.mark.parametrize("url", URLS)
def test_session_staff_read_anyone(url, client, django_user_model):
    staff = django_user_model.objects.create(username="operator", is_staff=True)
    client.force_login(staff)

    assert client.get(url, {"username": "bob"}).status_code == 200


@pytest.mark.parametrize("url", URLS)
def test_configured_permission_reads_anyone(url, client, django_user_model, settings):
    settings.BADGES_API_STAFF_PERMISSION = "badges.view_badgeprogress"
    support = django_user_model.objects.create(username="support")
    support.user_permissions.add(Permission.objects.get(codename="view_badgeprogress"))
    client.force_login(support)

    assert client.get(url, {"username": "bob"}).status_code == 200
    settings.BADGES_API_STAFF_PERMISSION = ""
    assert client.get(url, {"username": "bob"}).status_code == 403


def test_learners_are_throttled_staff_are_not(api_as, settings):
    settings.BADGES_API_LEARNER_THROTTLE_RATE = "3/minute"
    learner, staff = api_as("ann"), api_as("staff", administrator=True)

    learner_codes = [learner.get(URLS[1]).status_code for _ in range(4)]
    staff_codes = [staff.get(URLS[1]).status_code for _ in range(4)]

    assert learner_codes == [200, 200, 200, 429]
    assert staff_codes == [200] * 4


def test_no_throttle_when_the_rate_is_empty(api_as, settings):
    settings.BADGES_API_LEARNER_THROTTLE_RATE = ""
    learner = api_as("ann")

    assert {learner.get(URLS[1]).status_code for _ in range(5)} == {200}


def test_no_verification_key_configured_refuses_every_token(api_as, settings):
    learner = api_as("ann")
    settings.JWT_AUTH = {**settings.JWT_AUTH,
                         "JWT_ISSUERS": [{**settings.JWT_AUTH["JWT_ISSUERS"][0], "SECRET_KEY": ""}]}

    assert learner.get(URLS[0]).status_code == 401


def test_browsable_api_for_a_logged_in_browser(client, django_user_model):
    client.force_login(django_user_model.objects.create(username="ann"))

    response = client.get("/api/badges/v1/badges/", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_json_for_a_browser_when_the_host_has_no_browsable_api(api_as, settings):
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "rest_framework"]

    response = api_as("ann").get("/api/badges/v1/badges/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
