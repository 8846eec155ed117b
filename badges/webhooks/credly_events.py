"""Apply a Credly webhook event from Credly's own record of it, fetched back with the organization's key.

The POSTed notice only names the event; everything applied here comes from
``GET organizations/{org}/events/{id}``. A fetched record that names another event or another
organization is refused, and a template or badge that belongs to another organization here is
left alone, so a forged notice can at most make us ask Credly about an event.

What each event type does:

- ``badge_template.created`` / ``badge_template.changed``: create (inactive) or update the
  template; one no longer ``active`` at Credly is deactivated.
- ``badge_template.deleted``: the template is deactivated and marked ``archived``; its
  requirements, progress and issued badge records are kept.
- ``badge.*`` for a badge we issued (matched on its Credly id): the badge record's provider
  state follows Credly's (``pending``, ``accepted``, ``rejected``, ``revoked``, ``expired``);
  ``badge.deleted`` sets ``revoked``, since the learner no longer holds the badge at Credly.
  The record's award status is not changed: that is the engine's decision, not Credly's.
  Badge events apply in the order of ``occurred_at`` in Credly's record, not in the order they
  arrive: an event older than one already applied to the same badge is recorded ``ignored``, so a
  late delivery never brings back an earlier state. A badge event without a readable
  ``occurred_at`` cannot be ordered and is ``failed``.
- anything else is recorded as ``ignored``.
"""
from __future__ import annotations

import datetime
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from badges import issuing
from badges.models import (
    BadgeState,
    BadgeTemplate,
    CredlyBadge,
    CredlyBadgeTemplate,
    CredlyOrganization,
    CredlyWebhookEvent,
)
from badges.providers.base import ProviderError, RemoteTemplate, TransientProviderError
from badges.providers.registry import provider_for_account
from badges.sync import deactivate_template, upsert_credly_template

logger = logging.getLogger(__name__)

Status = CredlyWebhookEvent.Status

TEMPLATE_UPSERT_EVENTS = frozenset({"badge_template.created", "badge_template.changed"})
TEMPLATE_DELETED_EVENT = "badge_template.deleted"
BADGE_EVENT_PREFIX = "badge."
BADGE_DELETED_EVENT = "badge.deleted"
#: Credly badge states and the provider state our record takes for each.
BADGE_STATES = {
    "pending": BadgeState.PENDING,
    "accepted": BadgeState.ACCEPTED,
    "rejected": BadgeState.REJECTED,
    "revoked": BadgeState.REVOKED,
    "expired": BadgeState.EXPIRED,
}
DELETED_BADGE_STATE = BadgeState.REVOKED
FINISHED = (Status.APPLIED, Status.IGNORED, Status.FAILED)


class EventRefused(Exception):
    """Credly's record of the event cannot be applied; the text says why (shown to operators)."""


@dataclass(frozen=True)
class Outcome:
    """How applying one fetched event ended: ``applied`` or ``ignored``, with a note for operators."""

    status: str
    note: str = ""
    credly_badge_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ProcessResult:
    """The event's status after one task run; ``retry_in`` seconds when a transient failure needs a retry."""

    status: str
    retry_in: float | None = None


def process_webhook_event(event_pk: int) -> ProcessResult:
    """Fetch one recorded event back from Credly and apply it, at most once.

    The fetch happens outside any transaction; the apply runs under a lock on the event row and
    re-checks its status, so two tasks for one event (a retry and a sweep) apply it once.
    """
    event = CredlyWebhookEvent.objects.select_related("organization").filter(pk=event_pk).first()
    if event is None:
        logger.warning("Credly webhook event %s not found; nothing to apply.", event_pk)
        return ProcessResult("missing")
    if event.status in FINISHED:
        return ProcessResult(event.status)
    try:
        fetched = provider_for_account(event.organization).fetch_webhook_event(str(event.event_id))
    except TransientProviderError as error:
        return _after_transient_failure(event, error)
    except ProviderError as error:
        return _finish(event_pk, None, Outcome(Status.FAILED, f"Fetching the event from Credly failed: {error}"))
    return _finish(event_pk, fetched, None)


def _finish(event_pk: int, fetched: dict[str, Any] | None, outcome: Outcome | None) -> ProcessResult:
    with transaction.atomic():
        event = CredlyWebhookEvent.objects.select_for_update().get(pk=event_pk)
        if event.status in FINISHED:
            return ProcessResult(event.status)
        if fetched is not None:
            outcome = _apply_or_refuse(event, fetched)
            if isinstance(fetched.get("event_type"), str):
                event.event_type = fetched["event_type"][:255]
            event.occurred_at_time = occurred_at_time(fetched)
        event.status = outcome.status
        event.error = outcome.note
        event.credly_badge_id = outcome.credly_badge_id
        event.attempts += 1
        event.applied_at = timezone.now()
        event.next_attempt_at = None
        event.save(update_fields=["status", "error", "attempts", "applied_at", "next_attempt_at", "event_type",
                                  "occurred_at_time", "credly_badge_id"])
    log = logger.warning if outcome.status == Status.FAILED else logger.info
    log("Credly webhook event %s (%s): %s %s", event.event_id, event.event_type, outcome.status, outcome.note)
    return ProcessResult(outcome.status)


def _apply_or_refuse(event: CredlyWebhookEvent, fetched: dict[str, Any]) -> Outcome:
    """Apply in a savepoint, so a refusal halfway leaves nothing behind."""
    try:
        with transaction.atomic():
            return apply_fetched_event(event.organization, event.event_id, fetched)
    except EventRefused as error:
        return Outcome(Status.FAILED, str(error))


def _after_transient_failure(event: CredlyWebhookEvent, error: TransientProviderError) -> ProcessResult:
    """Issuing's retry policy (:func:`issuing.retry_delay`, :func:`issuing.retry_horizon`) on the event row.

    The next attempt's time is stored, so the sweep leaves the event to the pending retry.
    """
    attempts = event.attempts + 1
    now = timezone.now()
    if now - event.received_at > issuing.retry_horizon():
        return _finish(event.pk, None, Outcome(Status.FAILED, f"Gave up after {attempts} attempts: {error}"))
    delay = issuing.retry_delay(attempts, error.retry_after)
    CredlyWebhookEvent.objects.filter(pk=event.pk, status=Status.RECEIVED).update(
        attempts=F("attempts") + 1,
        error=f"Credly unavailable (attempt {attempts}): {error}",
        next_attempt_at=now + datetime.timedelta(seconds=delay),
    )
    logger.info("Credly webhook event %s: Credly unavailable (%s); next attempt in %.0f s.",
                event.event_id, error, delay)
    return ProcessResult(Status.RECEIVED, delay)


def apply_fetched_event(
    organization: CredlyOrganization, event_id: uuid.UUID, fetched: dict[str, Any]
) -> Outcome:
    """Apply Credly's record of one event of ``organization``; raises :class:`EventRefused`."""
    if _as_uuid(fetched.get("id")) != event_id:
        raise EventRefused(f"Credly's record is of another event ({fetched.get('id')!r}).")
    if _as_uuid(fetched.get("organization_id")) != organization.uuid:
        raise EventRefused(f"Credly's record is of another organization ({fetched.get('organization_id')!r}).")
    event_type = fetched.get("event_type")
    if not isinstance(event_type, str) or not event_type:
        raise EventRefused("Credly's record has no event type.")
    if event_type in TEMPLATE_UPSERT_EVENTS:
        return upsert_template(organization, _part(fetched, "badge_template"))
    if event_type == TEMPLATE_DELETED_EVENT:
        return archive_template(organization, _part(fetched, "badge_template"))
    if event_type.startswith(BADGE_EVENT_PREFIX):
        return update_badge_state(organization, event_type, _part(fetched, "badge"), occurred_at_time(fetched))
    return Outcome(Status.IGNORED, f"Event type {event_type} is not applied here.")


def upsert_template(organization: CredlyOrganization, data: dict[str, Any]) -> Outcome:
    """Create (inactive) or update the template Credly described; deactivate it unless ``active``."""
    template_id = _required_uuid(data, "badge template")
    state = data.get("state")
    if state not in BadgeTemplate.State.values:
        raise EventRefused(f"Badge template {template_id} has an unknown state {state!r}.")
    _refuse_foreign_template(organization, template_id)
    remote = RemoteTemplate(
        external_id=str(template_id),
        name=str(data.get("name") or ""),
        description=str(data.get("description") or ""),
        state=state,
        image_url=str(data.get("image_url") or (data.get("image") or {}).get("url") or ""),
    )
    template, created = upsert_credly_template(organization, remote, Site.objects.get_current())
    change = "created" if created else "updated"
    return Outcome(Status.APPLIED, f"Template {template.name!r} ({template.uuid}) {change} ({state}).")


def archive_template(organization: CredlyOrganization, data: dict[str, Any]) -> Outcome:
    """Deactivate and mark ``archived`` a template Credly deleted; nothing of ours is deleted."""
    template_id = _required_uuid(data, "badge template")
    _refuse_foreign_template(organization, template_id)
    template = CredlyBadgeTemplate.objects.filter(uuid=template_id, organization=organization).first()
    if template is None:
        return Outcome(Status.IGNORED, f"Template {template_id} is not known here.")
    deactivate_template(template, BadgeTemplate.State.ARCHIVED)
    return Outcome(Status.APPLIED, f"Template {template.name!r} ({template_id}) deactivated and archived.")


def update_badge_state(organization: CredlyOrganization, event_type: str, data: dict[str, Any],
                       occurred: datetime.datetime | None) -> Outcome:
    """Set the provider state of the badge we issued with this Credly id, through the one badge-change path.

    Unless an event that occurred later was already applied to this badge: the badge row is
    locked first, so events of one badge applied at the same time are compared one after the other.
    """
    badge_id = _required_uuid(data, "badge")
    if occurred is None:
        raise EventRefused(f"Credly's record of badge {badge_id} has no valid occurred_at, so it cannot be ordered.")
    if event_type == BADGE_DELETED_EVENT:
        state = DELETED_BADGE_STATE
    else:
        state = BADGE_STATES.get(data.get("state"))
        if state is None:
            raise EventRefused(f"Badge {badge_id} has an unknown state {data.get('state')!r}.")
    badge = (
        CredlyBadge.objects.select_for_update()
        .filter(
            external_uuid=badge_id,
            credential_content_type=ContentType.objects.get_for_model(CredlyBadgeTemplate),
            credential_id__in=CredlyBadgeTemplate.objects.filter(organization=organization).values("pk"),
        )
        .first()
    )
    if badge is None:
        return Outcome(Status.IGNORED, f"Badge {badge_id} was not issued here.")
    newer = (
        CredlyWebhookEvent.objects
        .filter(credly_badge_id=badge_id, status=Status.APPLIED, occurred_at_time__gt=occurred)
        .order_by("-occurred_at_time")
        .first()
    )
    if newer is not None:
        return Outcome(Status.IGNORED, f"Badge {badge.uuid}: older than event {newer.event_id} (occurred "
                                       f"{newer.occurred_at_time.isoformat()}), already applied; state stays "
                                       f"{badge.state}.", badge_id)
    previous = badge.state
    issuing.change_badge(badge, state=state)
    return Outcome(Status.APPLIED, f"Badge {badge.uuid}: provider state {previous} -> {state}.", badge_id)


def _refuse_foreign_template(organization: CredlyOrganization, template_id: uuid.UUID) -> None:
    owner = CredlyBadgeTemplate.objects.filter(uuid=template_id).values_list("organization__uuid", flat=True).first()
    if owner is not None and owner != organization.uuid:
        raise EventRefused(f"Template {template_id} belongs to another organization here ({owner}).")


def _part(fetched: dict[str, Any], name: str) -> dict[str, Any]:
    part = fetched.get(name)
    if not isinstance(part, dict):
        raise EventRefused(f"Credly's record carries no {name.replace('_', ' ')}.")
    return part


def _required_uuid(data: dict[str, Any], what: str) -> uuid.UUID:
    value = _as_uuid(data.get("id"))
    if value is None:
        raise EventRefused(f"Credly's record carries no valid {what} id ({data.get('id')!r}).")
    return value


def occurred_at_time(fetched: dict[str, Any]) -> datetime.datetime | None:
    """``occurred_at`` of Credly's record as an aware datetime (UTC when it names no offset), or None."""
    value = fetched.get("occurred_at")
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        return None
    if parsed is not None and timezone.is_naive(parsed):
        return timezone.make_aware(parsed, datetime.UTC)
    return parsed


def _as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def stale_received_events(older_than: datetime.timedelta) -> list[int]:
    """Events still ``received`` whose task should have run more than ``older_than`` ago: it was lost.

    That task is the first one (due on receipt) until Credly fails, then the retry due at
    ``next_attempt_at``; an event waiting for a pending retry is not stale, so it is not queued
    again next to it.
    """
    cutoff = timezone.now() - older_than
    first_task_lost = Q(next_attempt_at__isnull=True, received_at__lt=cutoff)
    retry_lost = Q(next_attempt_at__lt=cutoff)
    return list(
        CredlyWebhookEvent.objects.filter(first_task_lost | retry_lost, status=Status.RECEIVED)
        .values_list("pk", flat=True)
    )
