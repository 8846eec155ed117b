"""The endpoint: each status code, what is stored for each, the shared secret, redelivery."""
from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client, RequestFactory

from badges.models import CredlyWebhookEvent, CredlyWebhookRejection
from badges.webhooks import credly as webhook
from tests.webhooks.conftest import WEBHOOK_URL, notice, post_notice

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    """Event pks the view queued for the task (the task itself is tested elsewhere)."""
    calls: list[int] = []
    monkeypatch.setattr(webhook, "enqueue_credly_webhook_event", calls.append)
    return calls


def rejections() -> dict[str, int]:
    return dict(CredlyWebhookRejection.objects.values_list("reason", "count"))


def test_known_organization_event_is_recorded_and_queued_on_commit(
    client, credly_org, queued, django_capture_on_commit_callbacks
):
    body = notice(credly_org.uuid, event_type="badge_template.created")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_notice(client, body)
        assert queued == []  # nothing runs before the commit
    assert response.status_code == 200
    assert response.json() == {"event": body["id"], "recorded": True}
    event = CredlyWebhookEvent.objects.get()
    assert (str(event.event_id), event.organization, event.event_type, event.status, event.occurred_at) == (
        body["id"], credly_org, "badge_template.created", "received", body["occurred_at"])
    for callback in callbacks:
        callback()
    assert queued == [event.pk]
    assert rejections() == {}


def test_redelivered_event_is_answered_200_and_queued_once(
    client, credly_org, queued, django_capture_on_commit_callbacks
):
    body = notice(credly_org.uuid)
    with django_capture_on_commit_callbacks(execute=True):
        first = post_notice(client, body)
        second = post_notice(client, body)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json() == {"event": body["id"], "recorded": False}
    assert CredlyWebhookEvent.objects.count() == 1
    assert len(queued) == 1


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_other_methods_are_refused_with_405(client, method):
    response = getattr(client, method)(WEBHOOK_URL)
    assert response.status_code == 405
    assert response["Allow"] == "POST"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b"", "not JSON"),
    ],
)
def test_malformed_body_is_400_and_only_counted(client, credly_org, queued, body, message, caplog):
    response = post_notice(client, body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert CredlyWebhookEvent.objects.count() == 0
    assert rejections() == {"malformed": 1}
    assert "Credly webhook refused (400, malformed)" in caplog.text
    assert queued == []


@pytest.mark.parametrize("missing", ["id", "organization_id", "event_type", "occurred_at"])
def test_missing_field_is_400(client, credly_org, missing):
    body = notice(credly_org.uuid)
    del body[missing]
    response = post_notice(client, body)
    assert response.status_code == 400
    assert response.json() == {"error": f"missing fields: {missing}"}
    assert CredlyWebhookEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id", "not-a-uuid", "id is not a UUID"),
        ("organization_id", "12345", "organization_id is not a UUID"),
        ("id", "7a769820-a9e7-a05e-1169-73716112df0e", "id is not an RFC 4122 UUID"),
        ("organization_id", "7a769820-a9e7-a05e-1169-73716112df0e", "organization_id is not an RFC 4122 UUID"),
        ("event_type", {"nested": 1}, "event_type is not a string"),
        ("occurred_at", "x" * 65, "occurred_at is not a string"),
    ],
)
def test_invalid_field_is_400(client, credly_org, field, value, message):
    body = notice(credly_org.uuid)
    body[field] = value
    response = post_notice(client, body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert CredlyWebhookEvent.objects.count() == 0


def test_unknown_organization_is_404_logged_and_counted(client, credly_org, queued, caplog):
    other = uuid.uuid4()
    for _ in range(2):
        response = post_notice(client, notice(other))
        assert response.status_code == 404
    assert response.json() == {"error": f"unknown organization {other}"}
    assert CredlyWebhookEvent.objects.count() == 0
    assert rejections() == {"unknown_organization": 2}
    assert f"unknown organization {other}" in caplog.text
    assert queued == []


def test_body_over_the_limit_by_content_length_is_413(client, credly_org):
    body = notice(credly_org.uuid, padding="x" * webhook.MAX_BODY_BYTES)
    response = post_notice(client, body)
    assert response.status_code == 413
    assert CredlyWebhookEvent.objects.count() == 0
    assert rejections() == {"too_large": 1}


def test_body_over_the_limit_without_content_length_is_413_and_read_no_further(credly_org):
    """A server that gives no length: the view reads one byte past the limit and stops."""
    body = json.dumps(notice(credly_org.uuid, padding="x" * (3 * webhook.MAX_BODY_BYTES))).encode()
    request = RequestFactory().post(WEBHOOK_URL, data=body, content_type="application/json")
    del request.META["CONTENT_LENGTH"]
    response = webhook.credly_webhook(request)
    assert response.status_code == 413
    assert len(request.read()) == len(body) - webhook.MAX_BODY_BYTES - 1
    assert CredlyWebhookEvent.objects.count() == 0


def test_body_at_the_limit_is_accepted(client, credly_org, queued):
    body = notice(credly_org.uuid, padding="")
    body["padding"] = "x" * (webhook.MAX_BODY_BYTES - len(json.dumps(body)))
    data = json.dumps(body)
    assert len(data) == webhook.MAX_BODY_BYTES
    assert post_notice(client, data).status_code == 200


def test_no_csrf_token_and_no_session_needed(credly_org, queued):
    client = Client(enforce_csrf_checks=True)
    assert post_notice(client, notice(credly_org.uuid)).status_code == 200


def test_disabled_badges_answer_503_so_credly_retries_later(client, credly_org, settings, queued):
    settings.BADGES_ENABLED = False
    assert post_notice(client, notice(credly_org.uuid)).status_code == 503
    assert CredlyWebhookEvent.objects.count() == 0


class TestSharedSecret:
    @pytest.fixture(autouse=True)
    def secret(self, settings):
        settings.BADGES_CREDLY_WEBHOOK_SECRET = "s3cret-token"

    def test_missing_token_is_401(self, client, credly_org, queued):
        response = post_notice(client, notice(credly_org.uuid))
        assert response.status_code == 401
        assert CredlyWebhookEvent.objects.count() == 0
        assert rejections() == {"unauthorized": 1}

    @pytest.mark.parametrize("token", ["wrong", "s3cret-toke", "s3cret-token-and-more", "S3CRET-TOKEN"])
    def test_wrong_token_is_403(self, client, credly_org, queued, token, caplog):
        response = post_notice(client, notice(credly_org.uuid), query=f"?token={token}")
        assert response.status_code == 403
        assert CredlyWebhookEvent.objects.count() == 0
        assert "s3cret-token" not in caplog.text

    def test_right_token_is_accepted(self, client, credly_org, queued):
        response = post_notice(client, notice(credly_org.uuid), query="?token=s3cret-token")
        assert response.status_code == 200
        assert CredlyWebhookEvent.objects.count() == 1

    def test_secret_is_checked_before_the_body(self, client, credly_org):
        """An unauthenticated caller learns nothing about organizations or body rules."""
        assert post_notice(client, notice(uuid.uuid4())).status_code == 401
        assert post_notice(client, b"{broken").status_code == 401


def test_without_a_secret_no_token_is_needed_and_a_token_is_ignored(client, credly_org, settings, queued):
    settings.BADGES_CREDLY_WEBHOOK_SECRET = ""
    assert post_notice(client, notice(credly_org.uuid)).status_code == 200
    assert post_notice(client, notice(credly_org.uuid), query="?token=anything").status_code == 200
    assert CredlyWebhookEvent.objects.count() == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(lambda org: b"[" * 2000 + b"]" * 2000, "nested too deeply", id="deep-nesting"),
        pytest.param(lambda org: json.dumps(notice(org, event_type="badge.\ud800")).encode(),
                     "event_type holds a character that is not printable", id="lone-surrogate"),
        pytest.param(lambda org: json.dumps(notice(org, occurred_at="2026-11-27\u0000")).encode(),
                     "occurred_at holds a character that is not printable", id="nul-byte"),
    ],
)
def test_bodies_no_database_stores_faithfully_are_400_and_store_nothing(client, credly_org, queued, body, message):
    response = post_notice(client, body(credly_org.uuid))
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert CredlyWebhookEvent.objects.count() == 0
    assert rejections() == {"malformed": 1}
    assert queued == []
