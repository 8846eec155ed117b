"""The task: fetch the event back from Credly (mocked with ``responses``) and apply only what Credly says."""
from __future__ import annotations

import datetime
import uuid

import pytest
from django.utils import timezone

from badges.models import CredlyBadge, CredlyBadgeTemplate, CredlyOrganization, CredlyWebhookEvent
from badges.tasks.sweep import run_sweep
from badges.tasks.webhooks import STALE_AFTER, apply_credly_webhook_event
from badges.webhooks import credly_events
from tests.webhooks.conftest import event_url, fetched, notice, post_notice

pytestmark = pytest.mark.django_db


def remote_template(template_id, *, name="Remote name", state="active", **fields):
    return {"id": str(template_id), "name": name, "description": "Remote description", "state": state,
            "image_url": "https://images.example.com/badge.png", **fields}


def run(event: CredlyWebhookEvent) -> CredlyWebhookEvent:
    apply_credly_webhook_event.delay(event.pk)
    event.refresh_from_db()
    return event


class TestTemplateEvents:
    def test_created_template_arrives_inactive_with_credly_fields(self, credly_org, record_event, serve_event):
        event = record_event(event_type="badge_template.created")
        template_id = uuid.uuid4()
        serve_event(credly_org.uuid, event.event_id, fetched(
            credly_org.uuid, event.event_id, "badge_template.created", badge_template=remote_template(template_id)))
        event = run(event)
        template = CredlyBadgeTemplate.objects.get(uuid=template_id)
        assert (template.name, template.description, template.state, template.icon, template.is_active,
                template.organization) == ("Remote name", "Remote description", "active",
                                           "https://images.example.com/badge.png", False, credly_org)
        assert (event.status, event.attempts, event.applied_at is not None) == ("applied", 1, True)
        assert "created" in event.error

    def test_changed_active_template_is_updated_and_stays_active(
        self, credly_org, record_event, serve_event, make_credly_template, add_requirement
    ):
        template = make_credly_template(name="Old")
        add_requirement(template)
        template.is_active = True
        template.save()
        event = record_event()
        serve_event(credly_org.uuid, event.event_id, fetched(
            credly_org.uuid, event.event_id, "badge_template.changed",
            badge_template=remote_template(template.uuid, name="New")))
        assert run(event).status == "applied"
        template.refresh_from_db()
        assert (template.name, template.state, template.is_active) == ("New", "active", True)

    @pytest.mark.parametrize("state", ["archived", "draft"])
    def test_template_no_longer_active_is_deactivated(
        self, credly_org, record_event, serve_event, make_credly_template, add_requirement, state
    ):
        template = make_credly_template()
        add_requirement(template)
        template.is_active = True
        template.save()
        event = record_event()
        serve_event(credly_org.uuid, event.event_id, fetched(
            credly_org.uuid, event.event_id, "badge_template.changed",
            badge_template=remote_template(template.uuid, state=state)))
        assert run(event).status == "applied"
        template.refresh_from_db()
        assert (template.state, template.is_active) == (state, False)

    def test_deleted_template_is_deactivated_and_archived_keeping_badges(
        self, credly_org, record_event, serve_event, make_credly_template, add_requirement, make_credly_badge
    ):
        template = make_credly_template()
        requirement = add_requirement(template)
        template.is_active = True
        template.save()
        badge = make_credly_badge(template, state="accepted")
        event = record_event(event_type="badge_template.deleted")
        serve_event(credly_org.uuid, event.event_id, fetched(
            credly_org.uuid, event.event_id, "badge_template.deleted", badge_template={"id": str(template.uuid)}))
        event = run(event)
        expected = f"Template {template.name!r} ({template.uuid}) deactivated and archived."
        assert (event.status, event.error) == ("applied", expected)
        template.refresh_from_db()
        assert (template.state, template.is_active) == ("archived", False)
        badge.refresh_from_db()
        assert (badge.status, badge.state) == ("awarded", "accepted")
        assert template.requirements.get() == requirement

    def test_deleted_unknown_template_is_ignored(self, credly_org, record_event, serve_event):
        event = record_event(event_type="badge_template.deleted")
        template_id = uuid.uuid4()
        serve_event(credly_org.uuid, event.event_id, fetched(
            credly_org.uuid, event.event_id, "badge_template.deleted", badge_template={"id": str(template_id)}))
        event = run(event)
        assert (event.status, event.error) == ("ignored", f"Template {template_id} is not known here.")
        assert not CredlyBadgeTemplate.objects.exists()

    def test_unknown_template_state_fails_and_changes_nothing(self, credly_org, record_event, serve_event,
                                                               make_credly_template):
        template = make_credly_template(name="Kept")
        event = record_event()
        serve_event(credly_org.uuid, event.event_id, fetched(
            credly_org.uuid, event.event_id, "badge_template.changed",
            badge_template=remote_template(template.uuid, name="Changed", state="melted")))
        event = run(event)
        assert event.status == "failed"
        assert "unknown state 'melted'" in event.error
        template.refresh_from_db()
        assert template.name == "Kept"


class TestFetchedDataOnly:
    """The POSTed notice only names an event; Credly's own record of it decides everything."""

    def test_forged_body_naming_another_template_changes_nothing(
        self, client, credly_org, serve_event, make_credly_template, add_requirement,
        django_capture_on_commit_callbacks,
    ):
        real = make_credly_template(name="Real")
        bystander = make_credly_template(name="Bystander")
        add_requirement(bystander)
        bystander.is_active = True
        bystander.save()
        body = notice(credly_org.uuid, event_type="badge_template.deleted",
                      badge_template=remote_template(bystander.uuid, name="Forged", state="archived"))
        serve_event(credly_org.uuid, body["id"], fetched(
            credly_org.uuid, body["id"], "badge_template.changed",
            badge_template=remote_template(real.uuid, name="Real, renamed at Credly")))
        with django_capture_on_commit_callbacks(execute=True):
            assert post_notice(client, body).status_code == 200
        event = CredlyWebhookEvent.objects.get()
        assert (event.status, event.event_type) == ("applied", "badge_template.changed")
        bystander.refresh_from_db()
        assert (bystander.name, bystander.state, bystander.is_active) == ("Bystander", "active", True)
        real.refresh_from_db()
        assert real.name == "Real, renamed at Credly"

    def test_forged_event_id_unknown_at_credly_fails_and_changes_nothing(
        self, client, credly_org, serve_event, make_credly_template, django_capture_on_commit_callbacks
    ):
        template = make_credly_template(name="Kept")
        body = notice(credly_org.uuid, badge_template=remote_template(template.uuid, name="Forged"))
        serve_event(credly_org.uuid, body["id"], status=404)
        with django_capture_on_commit_callbacks(execute=True):
            assert post_notice(client, body).status_code == 200
        event = CredlyWebhookEvent.objects.get()
        assert event.status == "failed"
        assert "Fetching the event from Credly failed" in event.error and "HTTP 404" in event.error
        template.refresh_from_db()
        assert template.name == "Kept"

    def test_fetched_record_of_another_organization_is_refused(self, credly_org, record_event, serve_event):
        event = record_event()
        template_id = uuid.uuid4()
        serve_event(credly_org.uuid, event.event_id, fetched(
            uuid.uuid4(), event.event_id, "badge_template.created", badge_template=remote_template(template_id)))
        event = run(event)
        assert event.status == "failed"
        assert "another organization" in event.error
        assert not CredlyBadgeTemplate.objects.exists()

    def test_fetched_record_of_another_event_is_refused(self, credly_org, record_event, serve_event):
        event = record_event()
        serve_event(credly_org.uuid, event.event_id, fetched(
            credly_org.uuid, uuid.uuid4(), "badge_template.created", badge_template=remote_template(uuid.uuid4())))
        event = run(event)
        assert (event.status, "another event" in event.error) == ("failed", True)
        assert not CredlyBadgeTemplate.objects.exists()

    def test_template_of_another_organization_here_is_left_alone(
        self, credly_org, record_event, serve_event, site
    ):
        other_org = CredlyOrganization.objects.create(uuid=uuid.uuid4(), api_key="other-key", name="Other")
        theirs = CredlyBadgeTemplate.objects.create(site=site, organization=other_org, uuid=uuid.uuid4(),
                                                    name="Theirs", state="active")
        for event_type in ("badge_template.changed", "badge_template.deleted"):
            event = record_event(event_type=event_type)
            serve_event(credly_org.uuid, event.event_id, fetched(
                credly_org.uuid, event.event_id, event_type,
                badge_template=remote_template(theirs.uuid, name="Taken over", state="archived")))
            event = run(event)
            assert event.status == "failed"
            assert "belongs to another organization" in event.error
        theirs.refresh_from_db()
        assert (theirs.name, theirs.state, theirs.organization) == ("Theirs", "active", other_org)

    def test_fetch_uses_the_organizations_key(self, credly_org, record_event, serve_event, credly_api):
        event = record_event(event_type="organization.changed")
        serve_event(credly_org.uuid, event.event_id, fetched(credly_org.uuid, event.event_id, "organization.changed"))
        run(event)
        (call,) = credly_api.calls
        assert call.request.headers["Authorization"] == "Basic Y3JlZGx5LXNlY3JldC1rZXk6"  # "credly-secret-key:"


class TestBadgeEvents:
    @pytest.mark.parametrize(
        ("event_type", "credly_state", "expected"),
        [
            ("badge.state.changed", "accepted", "accepted"),
            ("badge.state.changed", "rejected", "rejected"),
            ("badge.state.changed", "revoked", "revoked"),
            ("badge.state.changed", "expired", "expired"),
            ("badge.created", "pending", "pending"),
            ("badge.deleted", "accepted", "revoked"),
        ],
    )
    def test_badge_we_issued_takes_credlys_state(
        self, credly_org, record_event, serve_event, make_credly_template, make_credly_badge,
        event_type, credly_state, expected,
    ):
        badge = make_credly_badge(make_credly_template(), state="pending")
        event = record_event(event_type=event_type)
        serve_event(credly_org.uuid, event.event_id, fetched(
            credly_org.uuid, event.event_id, event_type,
            badge={"id": str(badge.external_uuid), "state": credly_state}))
        event = run(event)
        assert event.status == "applied"
        badge.refresh_from_db()
        assert (badge.state, badge.status) == (expected, "awarded")

    def test_badge_not_issued_here_is_ignored(self, credly_org, record_event, serve_event, make_credly_template,
                                              make_credly_badge):
        badge = make_credly_badge(make_credly_template(), state="pending")
        event = record_event(event_type="badge.state.changed")
        serve_event(credly_org.uuid, event.event_id, fetched(
            credly_org.uuid, event.event_id, "badge.state.changed", badge={"id": str(uuid.uuid4()),
                                                                           "state": "accepted"}))
        assert run(event).status == "ignored"
        badge.refresh_from_db()
        assert badge.state == "pending"

    def test_badge_of_another_organizations_template_is_ignored(
        self, credly_org, record_event, serve_event, site, make_credly_badge
    ):
        other_org = CredlyOrganization.objects.create(uuid=uuid.uuid4(), api_key="other-key")
        theirs = CredlyBadgeTemplate.objects.create(site=site, organization=other_org, uuid=uuid.uuid4())
        badge = make_credly_badge(theirs, state="accepted")
        event = record_event(event_type="badge.state.changed")
        serve_event(credly_org.uuid, event.event_id, fetched(
            credly_org.uuid, event.event_id, "badge.state.changed",
            badge={"id": str(badge.external_uuid), "state": "revoked"}))
        assert run(event).status == "ignored"
        badge.refresh_from_db()
        assert badge.state == "accepted"

    def test_unknown_badge_state_fails(self, credly_org, record_event, serve_event, make_credly_template,
                                       make_credly_badge):
        badge = make_credly_badge(make_credly_template(), state="pending")
        event = record_event(event_type="badge.state.changed")
        serve_event(credly_org.uuid, event.event_id, fetched(
            credly_org.uuid, event.event_id, "badge.state.changed",
            badge={"id": str(badge.external_uuid), "state": "levitating"}))
        event = run(event)
        assert event.status == "failed" and "unknown state 'levitating'" in event.error
        badge.refresh_from_db()
        assert badge.state == "pending"

    def deliver_badge_events(self, credly_org, record_event, serve_event, badge, events):
        """Record, serve and apply ``(occurred_at, event_type, credly_state)`` events in the given (arrival) order."""
        applied = []
        for occurred_at, event_type, credly_state in events:
            event = record_event(event_type=event_type)
            serve_event(credly_org.uuid, event.event_id, {
                **fetched(credly_org.uuid, event.event_id, event_type,
                          badge={"id": str(badge.external_uuid), "state": credly_state}),
                "occurred_at": occurred_at,
            })
            applied.append(run(event))
        badge.refresh_from_db()
        return applied

    def test_late_delivery_of_an_older_event_does_not_overwrite_a_newer_state(
        self, credly_org, record_event, serve_event, make_credly_template, make_credly_badge,
    ):
        badge = make_credly_badge(make_credly_template(), state="pending")
        revoked, late_accepted = self.deliver_badge_events(credly_org, record_event, serve_event, badge, [
            ("2026-11-27T12:00:00.000Z", "badge.state.changed", "revoked"),
            ("2026-11-27T11:00:00.000Z", "badge.state.changed", "accepted"),
        ])
        assert badge.state == "revoked"
        assert revoked.status == "applied"
        assert late_accepted.status == "ignored"
        assert f"older than event {revoked.event_id}" in late_accepted.error

    def test_events_delivered_in_any_order_end_in_the_state_of_the_latest(
        self, credly_org, record_event, serve_event, make_credly_template, make_credly_badge,
    ):
        in_time_order = [
            ("2026-11-27T10:00:00Z", "badge.created", "pending"),
            ("2026-11-27T10:00:05+00:00", "badge.state.changed", "accepted"),
            ("2026-11-27T06:00:09-05:00", "badge.state.changed", "revoked"),  # 11:00:09 UTC: the latest
        ]
        for arrival in ([2, 0, 1], [1, 2, 0], [2, 1, 0], [0, 1, 2]):
            badge = make_credly_badge(make_credly_template(), state="pending")
            events = self.deliver_badge_events(credly_org, record_event, serve_event, badge,
                                               [in_time_order[i] for i in arrival])
            assert badge.state == "revoked", f"arrival order {arrival}"
            assert events[arrival.index(2)].status == "applied"

    def test_equal_occurrence_times_apply_in_arrival_order(
        self, credly_org, record_event, serve_event, make_credly_template, make_credly_badge,
    ):
        badge = make_credly_badge(make_credly_template(), state="pending")
        events = self.deliver_badge_events(credly_org, record_event, serve_event, badge, [
            ("2026-11-27T10:00:00Z", "badge.state.changed", "accepted"),
            ("2026-11-27T10:00:00Z", "badge.state.changed", "rejected"),
        ])
        assert [event.status for event in events] == ["applied", "applied"]
        assert badge.state == "rejected"

    @pytest.mark.parametrize("occurred_at", [None, "", "yesterday", "2026-13-45T10:00:00Z", 1764237600])
    def test_badge_event_without_a_readable_occurred_at_fails(
        self, credly_org, record_event, serve_event, make_credly_template, make_credly_badge, occurred_at,
    ):
        badge = make_credly_badge(make_credly_template(), state="pending")
        [event] = self.deliver_badge_events(credly_org, record_event, serve_event, badge, [
            (occurred_at, "badge.state.changed", "accepted"),
        ])
        assert event.status == "failed" and "no valid occurred_at" in event.error
        assert badge.state == "pending"

    def test_badge_event_without_badge_fails(self, credly_org, record_event, serve_event):
        event = record_event(event_type="badge.state.changed")
        serve_event(credly_org.uuid, event.event_id, fetched(credly_org.uuid, event.event_id, "badge.state.changed"))
        event = run(event)
        assert (event.status, event.error) == ("failed", "Credly's record carries no badge.")


@pytest.mark.parametrize("event_type", ["organization.changed", "badge_template.published_somewhere", "x"])
def test_other_event_types_are_recorded_and_ignored(credly_org, record_event, serve_event, event_type):
    event = record_event(event_type=event_type)
    serve_event(credly_org.uuid, event.event_id, fetched(credly_org.uuid, event.event_id, event_type))
    event = run(event)
    assert (event.status, event.error) == ("ignored", f"Event type {event_type} is not applied here.")


class TestOnceOnly:
    def test_finished_event_is_not_fetched_or_applied_again(self, credly_org, record_event, serve_event,
                                                            credly_api):
        event = record_event(event_type="badge_template.created")
        template_id = uuid.uuid4()
        serve_event(credly_org.uuid, event.event_id, fetched(
            credly_org.uuid, event.event_id, "badge_template.created", badge_template=remote_template(template_id)))
        run(event)
        CredlyBadgeTemplate.objects.filter(uuid=template_id).update(name="Edited here since")
        event = run(event)
        assert (event.status, event.attempts, len(credly_api.calls)) == ("applied", 1, 1)
        assert CredlyBadgeTemplate.objects.get(uuid=template_id).name == "Edited here since"

    def test_event_finished_by_another_task_during_the_fetch_is_left_alone(
        self, credly_org, record_event, serve_event, monkeypatch
    ):
        event = record_event(event_type="badge_template.created")
        serve_event(credly_org.uuid, event.event_id, fetched(
            credly_org.uuid, event.event_id, "badge_template.created", badge_template=remote_template(uuid.uuid4())))
        real_fetch = credly_events.provider_for_account

        def fetch_while_another_task_finishes(org):
            CredlyWebhookEvent.objects.filter(pk=event.pk).update(status="applied")
            return real_fetch(org)

        monkeypatch.setattr(credly_events, "provider_for_account", fetch_while_another_task_finishes)
        assert credly_events.process_webhook_event(event.pk).status == "applied"
        assert not CredlyBadgeTemplate.objects.exists()


class TestCredlyUnavailable:
    @pytest.fixture(autouse=True)
    def issuing_backoff(self, settings):
        """The issuing policy's first delay; the webhook task must follow it."""
        settings.BADGES_ISSUE_RETRY_FIRST_DELAY_SECONDS = 60

    def test_transient_failure_keeps_the_event_for_a_retry_with_backoff(self, credly_org, record_event,
                                                                       serve_event):
        event = record_event()
        serve_event(credly_org.uuid, event.event_id, status=503)
        first = credly_events.process_webhook_event(event.pk)
        second = credly_events.process_webhook_event(event.pk)
        assert (first.status, first.retry_in, second.retry_in) == ("received", 60, 120)
        event.refresh_from_db()
        assert (event.status, event.attempts) == ("received", 2)
        assert event.error.startswith("Credly unavailable (attempt 2)") and "HTTP 503" in event.error

    def test_retry_after_is_honoured(self, credly_org, record_event, credly_api):
        event = record_event()
        credly_api.get(event_url(credly_org.uuid, event.event_id), status=429, headers={"Retry-After": "900"})
        assert credly_events.process_webhook_event(event.pk).retry_in == 900

    def test_retry_then_success_applies(self, credly_org, record_event, serve_event):
        event = record_event(event_type="badge_template.created")
        template_id = uuid.uuid4()
        serve_event(credly_org.uuid, event.event_id, status=502)
        serve_event(credly_org.uuid, event.event_id, fetched(
            credly_org.uuid, event.event_id, "badge_template.created", badge_template=remote_template(template_id)))
        assert credly_events.process_webhook_event(event.pk).retry_in is not None
        assert credly_events.process_webhook_event(event.pk).status == "applied"
        event.refresh_from_db()
        assert (event.attempts, event.status) == (2, "applied")
        assert CredlyBadgeTemplate.objects.filter(uuid=template_id, is_active=False).exists()

    def test_gives_up_after_the_issuing_retry_horizon(self, credly_org, record_event, serve_event, settings):
        settings.BADGES_ISSUE_RETRY_HOURS = 1
        event = record_event()
        CredlyWebhookEvent.objects.filter(pk=event.pk).update(received_at=timezone.now() - datetime.timedelta(hours=2))
        serve_event(credly_org.uuid, event.event_id, status=503)
        result = credly_events.process_webhook_event(event.pk)
        assert (result.status, result.retry_in) == ("failed", None)
        event.refresh_from_db()
        assert event.status == "failed" and event.error.startswith("Gave up after 1 attempts")

    def test_task_schedules_a_celery_retry_outside_eager_mode(self, credly_org, record_event, serve_event,
                                                              monkeypatch):
        event = record_event()
        serve_event(credly_org.uuid, event.event_id, status=503)
        retries = []

        def retry(**kwargs):
            retries.append(kwargs)
            return RuntimeError("retry scheduled")

        monkeypatch.setattr(apply_credly_webhook_event, "retry", retry)
        apply_credly_webhook_event.push_request(is_eager=False)
        try:
            with pytest.raises(RuntimeError, match="retry scheduled"):
                apply_credly_webhook_event.run(event.pk)
        finally:
            apply_credly_webhook_event.pop_request()
        assert retries == [{"countdown": 60}]

    def test_stale_received_events_are_queued_again(self, credly_org, record_event, serve_event):
        stale = record_event(event_type="badge_template.created")
        fresh = record_event(event_type="badge_template.created")
        CredlyWebhookEvent.objects.filter(pk=stale.pk).update(
            received_at=timezone.now() - datetime.timedelta(minutes=11))
        template_id = uuid.uuid4()
        serve_event(credly_org.uuid, stale.event_id, fetched(
            credly_org.uuid, stale.event_id, "badge_template.created", badge_template=remote_template(template_id)))
        assert run_sweep()["webhook_events_requeued"] == 1
        stale.refresh_from_db()
        fresh.refresh_from_db()
        assert (stale.status, fresh.status) == ("applied", "received")
        assert CredlyBadgeTemplate.objects.filter(uuid=template_id).exists()


class TestPendingRetryAndTheSweep:
    """The sweep queues an event again only when its due task (first, or the scheduled retry) was lost."""

    @pytest.fixture(autouse=True)
    def issuing_backoff(self, settings):
        settings.BADGES_ISSUE_RETRY_FIRST_DELAY_SECONDS = 60

    def test_transient_failure_stores_when_the_retry_is_due(self, credly_org, record_event, serve_event):
        event = record_event()
        serve_event(credly_org.uuid, event.event_id, status=503)
        for expected_delay in (60, 120):
            before = timezone.now()
            result = credly_events.process_webhook_event(event.pk)
            event.refresh_from_db()
            assert result.retry_in == expected_delay
            assert before + datetime.timedelta(seconds=expected_delay) <= event.next_attempt_at
            assert event.next_attempt_at <= timezone.now() + datetime.timedelta(seconds=expected_delay)

    def test_finishing_clears_the_next_attempt(self, credly_org, record_event, serve_event):
        event = record_event()
        serve_event(credly_org.uuid, event.event_id, status=503)
        serve_event(credly_org.uuid, event.event_id, fetched(credly_org.uuid, event.event_id, "other.event"))
        credly_events.process_webhook_event(event.pk)
        credly_events.process_webhook_event(event.pk)
        event.refresh_from_db()
        assert (event.status, event.next_attempt_at, event.attempts) == ("ignored", None, 2)

    def test_event_waiting_for_its_retry_is_not_queued_again(self, credly_org, record_event, credly_api):
        """Credly asked for an hour: a sweep 30 minutes after receipt leaves the Celery retry alone."""
        event = record_event()
        credly_api.get(event_url(credly_org.uuid, event.event_id), status=503, headers={"Retry-After": "3600"})
        assert credly_events.process_webhook_event(event.pk).retry_in == 3600
        CredlyWebhookEvent.objects.filter(pk=event.pk).update(
            received_at=timezone.now() - datetime.timedelta(minutes=30))
        fetches = len(credly_api.calls)
        assert run_sweep()["webhook_events_requeued"] == 0
        assert len(credly_api.calls) == fetches
        event.refresh_from_db()
        assert (event.status, event.attempts) == ("received", 1)

    def test_retry_due_just_now_is_left_to_its_task(self, credly_org, record_event):
        event = record_event()
        CredlyWebhookEvent.objects.filter(pk=event.pk).update(
            received_at=timezone.now() - datetime.timedelta(hours=2),
            next_attempt_at=timezone.now() - datetime.timedelta(minutes=1))
        assert credly_events.stale_received_events(STALE_AFTER) == []

    def test_event_whose_retry_was_lost_is_queued_again(self, credly_org, record_event, serve_event):
        event = record_event(event_type="badge_template.created")
        CredlyWebhookEvent.objects.filter(pk=event.pk).update(
            attempts=3, received_at=timezone.now() - datetime.timedelta(hours=2),
            next_attempt_at=timezone.now() - STALE_AFTER - datetime.timedelta(minutes=1))
        template_id = uuid.uuid4()
        serve_event(credly_org.uuid, event.event_id, fetched(
            credly_org.uuid, event.event_id, "badge_template.created", badge_template=remote_template(template_id)))
        assert run_sweep()["webhook_events_requeued"] == 1
        event.refresh_from_db()
        assert (event.status, event.attempts, event.next_attempt_at) == ("applied", 4, None)
        assert CredlyBadgeTemplate.objects.filter(uuid=template_id).exists()


def test_every_credly_badge_state_maps_to_a_state_of_our_record():
    assert set(credly_events.BADGE_STATES.values()) <= set(CredlyBadge.STATES)
