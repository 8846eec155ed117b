"""Issuing at the provider: retries, permanent errors, duplicates, never twice; admin and command."""
from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F
from django.utils import timezone

from badges import host, issuing
from badges.models import CredlyBadge
from badges.providers.base import PermanentProviderError, TransientProviderError
from badges.tasks.sweep import run_sweep
from tests.engine.conftest import COURSE_A, COURSE_B, learner, send_grade

pytestmark = pytest.mark.django_db(transaction=True)


def award(user=None) -> CredlyBadge:
    send_grade(COURSE_A, user=user)
    send_grade(COURSE_B, user=user)
    return CredlyBadge.objects.get(username=(user or learner()).pii.username)


def make_due(badge: CredlyBadge) -> None:
    """As if the next attempt's time and the sweep's grace after it had passed (the task was lost)."""
    overdue = timezone.now() - issuing.sweep_grace() - datetime.timedelta(seconds=1)
    CredlyBadge.objects.filter(pk=badge.pk).update(next_attempt_at=overdue)


def age(badge: CredlyBadge, **delta: float) -> None:
    """As if the badge had been awarded, its cycle started and its attempts made ``delta`` earlier."""
    earlier = datetime.timedelta(**delta)
    host.UserCredential.objects.filter(pk=badge.pk).update(created=F("created") - earlier,
                                                           modified=F("modified") - earlier)
    for name in ("sync_started_at", "last_attempt_at", "next_attempt_at"):
        CredlyBadge.objects.filter(pk=badge.pk, **{f"{name}__isnull": False}).update(**{name: F(name) - earlier})


def add_course_a_penalty(two_group_template, add_penalty) -> None:
    template, first, _second = two_group_template
    add_penalty(template, [first], rules=[("is_passing", "eq", "false"), ("course.course_key", "eq", COURSE_A)])


def test_transient_failure_without_broker_leaves_the_badge_for_the_sweep(two_group_template, provider):
    provider.failures = [TransientProviderError("Service Unavailable", status=503)] * 2
    badge = award()
    assert (badge.state, badge.issue_attempts, badge.external_uuid) == ("no_response", 1, None)
    assert "503" in badge.provider_error

    assert run_sweep()["badges_requeued"] == 0  # not due yet
    make_due(badge)
    assert run_sweep()["badges_requeued"] == 1
    badge.refresh_from_db()
    assert (badge.state, badge.issue_attempts) == ("no_response", 2)
    make_due(badge)
    run_sweep()
    badge.refresh_from_db()
    assert badge.state == "pending" and badge.external_uuid is not None and badge.provider_error == ""
    assert len(provider.issued) == 1 and provider.attempts == 3
    assert badge.next_attempt_at is None


def test_the_sweep_waits_for_the_scheduled_retry_honouring_retry_after(two_group_template, provider):
    provider.failures = [TransientProviderError("Too Many Requests", status=429, retry_after=600)]
    badge = award()
    assert (badge.next_attempt_at - badge.last_attempt_at).total_seconds() == pytest.approx(600, abs=1)

    age(badge, seconds=120)  # past the first backoff step (60 s), not past Retry-After
    assert run_sweep()["badges_requeued"] == 0
    assert provider.attempts == 1
    age(badge, seconds=500)  # past Retry-After, not past the grace after it: the retry may wait in a backlog
    assert run_sweep()["badges_requeued"] == 0
    age(badge, seconds=issuing.sweep_grace().total_seconds())
    assert run_sweep()["badges_requeued"] == 1
    badge.refresh_from_db()
    assert badge.state == "pending" and badge.next_attempt_at is None and provider.attempts == 2


def test_a_late_retry_is_left_to_its_task_and_a_requeued_one_is_not_requeued_again(
        two_group_template, provider, monkeypatch, settings):
    settings.BADGES_SWEEP_GRACE_SECONDS = 300
    provider.failures = [TransientProviderError("Service Unavailable", status=503)]
    badge = award()
    age(badge, seconds=200)  # the 60 s retry is overdue: in a backlog, not lost
    assert run_sweep()["badges_requeued"] == 0
    age(badge, seconds=200)  # now past the grace: lost
    queued = []
    monkeypatch.setattr("badges.tasks.issuing.sync_badge_with_provider.delay", lambda *args: queued.append(args))
    assert run_sweep()["badges_requeued"] == 1
    assert run_sweep()["badges_requeued"] == 0  # the task just queued gets its own grace
    age(badge, seconds=301)
    assert run_sweep()["badges_requeued"] == 1
    assert queued == [("credly", str(badge.uuid))] * 2 and provider.attempts == 1


def test_a_record_whose_task_was_lost_is_requeued_after_the_grace(two_group_template, provider, monkeypatch,
                                                                  settings):
    monkeypatch.setattr("badges.engine.enqueue_sync", lambda origin, badge_uuid: False)
    settings.BADGES_SWEEP_GRACE_SECONDS = 300
    badge = award()
    assert badge.sync_started_at is not None and badge.next_attempt_at is None
    assert run_sweep()["badges_requeued"] == 0
    age(badge, seconds=301)
    assert run_sweep()["badges_requeued"] == 1
    assert len(provider.issued) == 1


def test_a_revoke_days_after_the_award_has_its_own_retry_horizon(two_group_template, add_penalty, provider):
    add_course_a_penalty(two_group_template, add_penalty)
    badge = award()
    age(badge, days=4)  # beyond the 72 h horizon, counted from the award
    provider.failures = [TransientProviderError("Service Unavailable", status=503)]
    send_grade(COURSE_A, is_passing=False)
    badge.refresh_from_db()
    assert (badge.status, badge.state) == ("revoked", "no_response")
    assert timezone.now() - badge.sync_started_at < datetime.timedelta(minutes=1)

    make_due(badge)
    run_sweep()
    badge.refresh_from_db()
    assert badge.state == "revoked" and provider.revoked == [str(badge.external_uuid)]


def test_an_operator_retry_of_an_old_badge_has_a_new_retry_horizon(two_group_template, provider):
    provider.failures = [PermanentProviderError("Unauthorized", status=401)]
    badge = award()
    age(badge, days=4)
    provider.failures = [TransientProviderError("Service Unavailable", status=503)]
    call_command("retry_badge_issuing")
    badge.refresh_from_db()
    assert badge.state == "no_response" and badge.next_attempt_at is not None

    age(badge, hours=71)  # the retry's horizon still holds (72 h from the retry)
    run_sweep()
    badge.refresh_from_db()
    assert badge.state == "pending" and len(provider.issued) == 1


def test_transient_failures_past_the_cycles_horizon_become_an_error(two_group_template, provider):
    provider.failures = [TransientProviderError("Service Unavailable", status=503)] * 2
    badge = award()
    age(badge, hours=73)
    run_sweep()
    badge.refresh_from_db()
    assert badge.state == "error" and badge.provider_error.startswith("Gave up after 2 attempts")
    assert badge.next_attempt_at is None


def test_transient_failures_past_the_horizon_become_an_error(two_group_template, provider, settings):
    settings.BADGES_ISSUE_RETRY_HOURS = 0
    provider.failures = [TransientProviderError("timeout")]
    badge = award()
    assert badge.state == "error" and badge.provider_error.startswith("Gave up after 1 attempts: timeout")


def test_permanent_error_is_shown_and_retried_by_the_command_after_the_fix(two_group_template, provider, capsys):
    provider.failures = [PermanentProviderError("Unauthorized", status=401, detail="invalid token")]
    badge = award()
    assert badge.state == "error" and badge.provider_error == "Unauthorized: HTTP 401: invalid token"
    assert run_sweep()["badges_requeued"] == 0  # errors wait for an operator

    call_command("retry_badge_issuing")
    badge.refresh_from_db()
    assert badge.state == "pending" and badge.provider_error == "" and len(provider.issued) == 1
    assert "Queued 1 badge(s)" in capsys.readouterr().out

    call_command("retry_badge_issuing", "--badge-uuid", str(badge.uuid))
    assert len(provider.issued) == 1  # issued records are never issued again


def test_retry_command_rejects_unknown_and_malformed_uuids(two_group_template, provider):
    with pytest.raises(CommandError, match="not a UUID"):
        call_command("retry_badge_issuing", "--badge-uuid", "nope")
    with pytest.raises(CommandError, match="not found"):
        call_command("retry_badge_issuing", "--badge-uuid", "7f0c3b4e-0000-4000-8000-000000000000")


def test_duplicate_refusal_is_reconciled_by_adopting_the_existing_badge(two_group_template, provider):
    template = two_group_template[0]
    provider.held[(str(template.uuid), "learner1@example.com")] = "1f1d6f4e-51a3-4f39-8d5c-111111111111"
    badge = award()
    assert str(badge.external_uuid) == "1f1d6f4e-51a3-4f39-8d5c-111111111111" and badge.state == "accepted"
    assert provider.issued == []


def test_an_issue_whose_answer_was_lost_is_found_not_issued_again(two_group_template, provider):
    provider.lost_answers = 1
    badge = award()
    assert badge.state == "no_response" and badge.external_uuid is None
    make_due(badge)
    run_sweep()
    badge.refresh_from_db()
    assert badge.external_uuid is not None and badge.state == "accepted"
    assert len(provider.issued) == 1 and provider.attempts == 1


def test_a_revoked_badge_found_at_the_provider_is_not_adopted(two_group_template, provider):
    template = two_group_template[0]
    old_badge = "2f1d6f4e-51a3-4f39-8d5c-222222222222"
    provider.ended[(str(template.uuid), "learner1@example.com")] = old_badge  # an earlier award, revoked
    provider.failures = [TransientProviderError("timeout")]
    badge = award()
    issuing.sync_with_provider("credly", str(badge.uuid))  # the retry looks the badge up, finds the revoked one
    badge.refresh_from_db()
    assert provider.lookups == 1 and len(provider.issued) == 1
    assert badge.state == "pending" and str(badge.external_uuid) not in (old_badge, "None")


def test_revoke_after_an_issue_whose_answer_was_lost_revokes_what_the_provider_holds(
        two_group_template, add_penalty, provider, public_events):
    add_course_a_penalty(two_group_template, add_penalty)
    provider.lost_answers = 1
    badge = award()
    assert badge.state == "no_response" and badge.external_uuid is None
    (held,) = provider.held.values()
    send_grade(COURSE_A, is_passing=False)
    badge.refresh_from_db()
    assert (badge.status, badge.state, str(badge.external_uuid)) == ("revoked", "revoked", held)
    assert provider.revoked == [held] and provider.held == {}
    assert len(public_events["revoked"]) == 1


def test_revoke_after_attempts_that_issued_nothing_revokes_nothing_at_the_provider(
        two_group_template, add_penalty, provider):
    add_course_a_penalty(two_group_template, add_penalty)
    provider.failures = [TransientProviderError("Service Unavailable", status=503)]
    badge = award()
    send_grade(COURSE_A, is_passing=False)
    badge.refresh_from_db()
    assert (badge.status, badge.state, badge.external_uuid) == ("revoked", "revoked", None)
    assert provider.lookups == 1 and provider.revoked == [] and provider.issued == []


def test_a_record_with_an_external_id_is_never_issued_again(two_group_template, provider):
    badge = award()
    for _ in range(3):
        result = issuing.sync_with_provider("credly", str(badge.uuid))
        assert result.action is issuing.Action.NONE
    CredlyBadge.objects.filter(pk=badge.pk).update(state="created")  # even if the state were reset
    issuing.sync_with_provider("credly", str(badge.uuid))
    assert len(provider.issued) == 1


def test_sweep_requeues_badges_whose_task_was_lost(two_group_template, provider, monkeypatch, settings):
    monkeypatch.setattr("badges.engine.enqueue_sync", lambda origin, badge_uuid: False)  # broker down at commit
    badge = award()
    assert badge.state == "created" and provider.attempts == 0
    settings.BADGES_SWEEP_GRACE_SECONDS = 0
    assert run_sweep()["badges_requeued"] == 1
    badge.refresh_from_db()
    assert badge.state == "pending" and len(provider.issued) == 1


def test_revocation_before_issuing_makes_no_provider_call(two_group_template, add_penalty, provider, monkeypatch,
                                                         settings):
    template, first, _second = two_group_template
    add_penalty(template, [first], rules=[("is_passing", "eq", "false"), ("course.course_key", "eq", COURSE_A)])
    monkeypatch.setattr("badges.engine.enqueue_sync", lambda origin, badge_uuid: False)
    badge = award()
    send_grade(COURSE_A, is_passing=False)
    settings.BADGES_SWEEP_GRACE_SECONDS = 0
    run_sweep()
    badge.refresh_from_db()
    assert (badge.status, badge.state) == ("revoked", "revoked")
    assert provider.attempts == 0 and provider.revoked == [] and provider.lookups == 0


# --- Admin ----------------------------------------------------------------------------------

def test_admin_lists_badges_with_provider_state_and_error(two_group_template, provider, staff_client, credly_org):
    provider.failures = [PermanentProviderError("Unauthorized", status=401)]
    badge = award()
    page = staff_client.get("/admin/badges/credlybadge/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "learner1" in html and "Two groups" in html and "Unauthorized: HTTP 401" in html
    assert credly_org.api_key not in html
    assert staff_client.get("/admin/badges/credlybadge/", {"q": "learner1"}).context["cl"].result_count == 1
    assert staff_client.get("/admin/badges/credlybadge/", {"q": "nobody"}).context["cl"].result_count == 0
    assert staff_client.get("/admin/badges/credlybadge/", {"q": "not-a-uuid"}).status_code == 200
    detail = staff_client.get(f"/admin/badges/credlybadge/{badge.pk}/change/")
    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    assert staff_client.get("/admin/badges/accrediblebadge/").status_code == 200


def test_admin_retry_action_issues_after_the_key_is_fixed(two_group_template, provider, staff_client):
    provider.failures = [PermanentProviderError("Unauthorized", status=401)]
    badge = award()
    response = staff_client.post("/admin/badges/credlybadge/",
                                 {"action": "retry_issuing", "_selected_action": [badge.pk]}, follow=True)
    assert response.status_code == 200
    badge.refresh_from_db()
    assert badge.state == "pending" and badge.external_uuid is not None and len(provider.issued) == 1
    assert "1 badge(s) queued" in response.content.decode()


def test_admin_reaward_action_reissues_a_revoked_badge(two_group_template, add_penalty, provider, staff_client,
                                                       public_events):
    template, first, _second = two_group_template
    add_penalty(template, [first], rules=[("is_passing", "eq", "false"), ("course.course_key", "eq", COURSE_A)])
    badge = award()
    first_issue = badge.external_uuid
    send_grade(COURSE_A, is_passing=False)
    staff_client.post("/admin/badges/credlybadge/", {"action": "reaward", "_selected_action": [badge.pk]})
    badge.refresh_from_db()
    assert (badge.status, badge.state) == ("awarded", "pending")
    assert badge.external_uuid not in (None, first_issue) and len(provider.issued) == 2
    assert badge.issue_attempts == 1 and provider.lookups == 0  # a new cycle: issued, not looked up
    assert len(public_events["awarded"]) == 2
    staff_client.post("/admin/badges/credlybadge/", {"action": "reaward", "_selected_action": [badge.pk]})
    assert len(provider.issued) == 2  # an awarded badge is not re-awarded


def test_admin_actions_need_the_change_permission(two_group_template, provider, client, django_user_model):
    provider.failures = [PermanentProviderError("Unauthorized", status=401)]
    badge = award()
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_credlybadge"))
    client.force_login(viewer)
    assert client.get("/admin/badges/credlybadge/").status_code == 200
    client.post("/admin/badges/credlybadge/", {"action": "retry_issuing", "_selected_action": [badge.pk]})
    badge.refresh_from_db()
    assert badge.state == "error" and provider.issued == []
