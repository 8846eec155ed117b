"""End to end over real HTTP: Credly's webhook POSTed to the running service, the event fetched back
from the fake provider (a separate process on a free port) and applied by the task."""
from __future__ import annotations

import uuid

import pytest
import requests

from badges.models import CredlyBadgeTemplate, CredlyOrganization, CredlyWebhookEvent
from badges.testing.fake_provider import FakeProviderProcess
from badges.testing.processes import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CREDLY_KEY = "e2e-webhook-credly-token"
SECRET = "e2e-webhook-secret"


@pytest.fixture
def fake():
    with FakeProviderProcess() as process:
        yield process


@pytest.fixture
def service(live_server, fake, settings):
    """The running service, pointed at the fake provider, with the shared secret on."""
    settings.BADGES_CONFIG = fake.badges_config()
    settings.BADGES_PROVIDER_HTTP = {"attempts": 2, "backoff": 0.05, "max_backoff": 0.1, "read_timeout": 5.0}
    settings.BADGES_CREDLY_WEBHOOK_SECRET = SECRET
    return live_server


def deliver(service, event: dict, token: str = SECRET) -> requests.Response:
    """POST the notice the way Credly does: the four fields only."""
    notice = {key: event[key] for key in ("id", "organization_id", "event_type", "occurred_at")}
    return requests.post(f"{service.url}/badges/credly/webhook/?token={token}", json=notice, timeout=30)


def wait_for(condition):
    return wait_until(condition, 15.0, "the webhook task", interval=0.1)


def event_fetches(fake, org_id: str, event_id: str) -> int:
    path = f"/credly/v1/organizations/{org_id}/events/{event_id}"
    return sum(1 for call in fake.control.calls() if call["path"] == path and call["status"] == 200)


def test_template_changed_webhook_creates_the_template_inactive_after_the_task(service, fake):
    control = fake.control
    org_id = control.add_credly_organization(api_key=CREDLY_KEY, name="Webhook Academy")
    remote = control.add_credly_template(org_id, name="Arrived by webhook", description="Made at Credly")
    org = CredlyOrganization.objects.create(uuid=org_id, api_key=CREDLY_KEY, name="Webhook Academy")
    delivered = control.add_credly_event(org_id, event_type="badge_template.changed",
                                         badge_template_id=remote["id"],
                                         deliver_to=f"{service.url}/badges/credly/webhook/?token={SECRET}")
    event = delivered["event"]
    assert delivered["delivery_status"] == 200, "the fake provider POSTed the notice to the running service"

    template = wait_for(lambda: CredlyBadgeTemplate.objects.filter(uuid=remote["id"]).first())
    assert (template.name, template.description, template.state, template.is_active, template.organization) == (
        "Arrived by webhook", "Made at Credly", "active", False, org)
    recorded = wait_for(lambda: CredlyWebhookEvent.objects.filter(event_id=event["id"], status="applied").first())
    assert recorded.event_type == "badge_template.changed"
    assert event_fetches(fake, org_id, event["id"]) == 1

    again = deliver(service, event)
    assert (again.status_code, again.json()["recorded"]) == (200, False)
    assert CredlyWebhookEvent.objects.filter(event_id=event["id"]).count() == 1
    assert event_fetches(fake, org_id, event["id"]) == 1

    control.update_credly_template(org_id, remote["id"], state="archived", name="Retired")
    archived = control.add_credly_event(org_id, event_type="badge_template.changed",
                                        badge_template_id=remote["id"])["event"]
    assert deliver(service, archived).status_code == 200
    wait_for(lambda: CredlyWebhookEvent.objects.filter(event_id=archived["id"], status="applied").exists())
    template.refresh_from_db()
    assert (template.name, template.state, template.is_active) == ("Retired", "archived", False)


def test_refused_calls_over_http(service, fake):
    org_id = fake.control.add_credly_organization(api_key=CREDLY_KEY)
    CredlyOrganization.objects.create(uuid=org_id, api_key=CREDLY_KEY)
    event = {"id": str(uuid.uuid4()), "organization_id": org_id, "event_type": "badge_template.changed",
             "occurred_at": "2026-11-27T10:00:00.000Z"}
    assert deliver(service, event, token="wrong").status_code == 403
    assert deliver(service, {**event, "organization_id": str(uuid.uuid4())}).status_code == 404
    url = f"{service.url}/badges/credly/webhook/?token={SECRET}"
    assert requests.post(url, data=b"x" * 20_000, timeout=30).status_code == 413
    assert requests.post(url, data=b"{oops", timeout=30).status_code == 400
    assert requests.get(url, timeout=30).status_code == 405
    assert not CredlyWebhookEvent.objects.exists()
    assert fake.control.calls() == []
