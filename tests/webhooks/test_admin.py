"""The operator's read-only view of webhook events and refused calls."""
from __future__ import annotations

import pytest
from django.urls import reverse

from badges.models import CredlyWebhookRejection

pytestmark = pytest.mark.django_db

EVENTS_URL = reverse("admin:badges_credlywebhookevent_changelist")


def test_event_list_shows_type_status_and_notes(staff_client, record_event):
    record_event(event_type="badge_template.changed", status="applied")
    record_event(event_type="badge.state.changed", status="failed", error="Badge X has an unknown state 'odd'.")
    page = staff_client.get(EVENTS_URL).content.decode()
    for text in ("badge_template.changed", "badge.state.changed", "applied", "failed",
                 "Badge X has an unknown state"):
        assert text in page


@pytest.mark.parametrize(("query", "shown"), [
    ("status__exact=failed", "badge.deleted"),
    ("event_type=badge_template.created", "badge_template.created"),
])
def test_event_list_filters(staff_client, record_event, query, shown):
    record_event(event_type="badge_template.created", status="applied")
    record_event(event_type="badge.deleted", status="failed")
    response = staff_client.get(f"{EVENTS_URL}?{query}")
    assert [event.event_type for event in response.context["cl"].result_list] == [shown]


def test_events_are_read_only(staff_client, record_event):
    event = record_event()
    assert staff_client.get(reverse("admin:badges_credlywebhookevent_add")).status_code == 403
    change = staff_client.get(reverse("admin:badges_credlywebhookevent_change", args=[event.pk]))
    assert change.status_code == 200
    assert b'name="_save"' not in change.content
    assert staff_client.post(reverse("admin:badges_credlywebhookevent_delete", args=[event.pk])).status_code == 403


def test_rejection_counters_are_listed(staff_client):
    CredlyWebhookRejection.objects.create(reason="unknown_organization", count=7)
    page = staff_client.get(reverse("admin:badges_credlywebhookrejection_changelist")).content.decode()
    assert "unknown organization (404)" in page
    assert '<td class="field-count">7</td>' in page


def test_hidden_while_badges_are_disabled(staff_client, settings):
    settings.BADGES_ENABLED = False
    assert staff_client.get(EVENTS_URL).status_code == 403


def test_event_list_search_by_event_id(staff_client, record_event):
    wanted = record_event()
    record_event()
    response = staff_client.get(f"{EVENTS_URL}?q={str(wanted.event_id)[:13]}")
    assert list(response.context["cl"].result_list) == [wanted]
