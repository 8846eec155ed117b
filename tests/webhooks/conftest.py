"""Webhook fixtures: notices as Credly POSTs them, Credly's API mocked for the fetch back, badge records."""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import responses
from django.contrib.contenttypes.models import ContentType

from badges.conf import provider_urls
from badges.models import CredlyBadge, CredlyBadgeTemplate, CredlyWebhookEvent

WEBHOOK_URL = "/badges/credly/webhook/"


def notice(organization_id: Any, *, event_id: Any = None, event_type: str = "badge_template.changed",
           **extra: Any) -> dict[str, Any]:
    """The body Credly POSTs (plus ``extra`` fields a forger might add)."""
    return {
        "id": str(event_id or uuid.uuid4()),
        "organization_id": str(organization_id),
        "event_type": event_type,
        "occurred_at": "2026-11-27T10:00:00.000Z",
        **extra,
    }


def post_notice(client, body: Any, *, query: str = "", **extra: Any):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(WEBHOOK_URL + query, data=data, content_type="application/json", **extra)


def event_url(organization_id: Any, event_id: Any) -> str:
    return f"{provider_urls('credly')['api']}organizations/{organization_id}/events/{event_id}"


@pytest.fixture(autouse=True)
def single_http_attempt(settings):
    """No in-call HTTP retries: a 503 from the mocked API surfaces at once."""
    settings.BADGES_PROVIDER_HTTP = {"attempts": 1}


@pytest.fixture
def credly_api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def serve_event(credly_api):
    """Make Credly answer the fetch back of one event with ``data`` (or ``status`` with an error body)."""

    def serve(organization_id: Any, event_id: Any, data: dict[str, Any] | None = None, *, status: int = 200):
        body = {"data": data} if status == 200 else {"data": {"message": "nope"}}
        credly_api.get(event_url(organization_id, event_id), json=body, status=status)

    return serve


def fetched(organization_id: Any, event_id: Any, event_type: str, **parts: Any) -> dict[str, Any]:
    """Credly's own record of an event, as ``GET organizations/{org}/events/{id}`` returns it."""
    return {
        "id": str(event_id),
        "organization_id": str(organization_id),
        "event_type": event_type,
        "occurred_at": "2026-11-27T10:00:00.000Z",
        **parts,
    }


@pytest.fixture
def record_event(credly_org):
    def record(event_id: Any = None, event_type: str = "badge_template.changed", organization=None,
               **fields: Any) -> CredlyWebhookEvent:
        return CredlyWebhookEvent.objects.create(
            event_id=event_id or uuid.uuid4(), organization=organization or credly_org, event_type=event_type,
            occurred_at="2026-11-27T10:00:00.000Z", **fields,
        )

    return record


@pytest.fixture
def make_credly_badge():
    def make(template: CredlyBadgeTemplate, *, username: str = "learner1", state: str = "pending",
             external_uuid: Any = None) -> CredlyBadge:
        return CredlyBadge.objects.create(
            credential_content_type=ContentType.objects.get_for_model(CredlyBadgeTemplate),
            credential_id=template.pk, username=username, state=state,
            external_uuid=external_uuid or uuid.uuid4(),
        )

    return make
