"""The Credly webhook endpoint: check the call, record the event, answer at once.

Credly signs nothing and retries every non-200 answer for weeks, so this view trusts nothing in
the body beyond two ids: it checks the optional shared secret, the size and shape of the body and
that the organization is ours, records the event (unique on Credly's event id) and answers 200.
A Celery task then fetches the event back from Credly with the organization's key and applies
only what Credly returned (:mod:`badges.webhooks.credly_events`).

Refused calls store nothing from their body; each one is logged and counted in
:class:`~badges.models.CredlyWebhookRejection`. Bodies are refused, never repaired: a body nested
too deeply to parse, or a stored field (``event_type``, ``occurred_at``) holding a character that
is not printable (a NUL byte, a control character, a lone UTF-16 surrogate such as ``\ud800``),
is not from Credly, and no database stores those characters faithfully everywhere (PostgreSQL
refuses NUL, none can encode a lone surrogate). Changing the text instead would record a notice
Credly never sent.
"""
from __future__ import annotations

import hmac
import json
import logging
import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from badges.conf import badges_enabled, badges_settings
from badges.models import CredlyOrganization, CredlyWebhookEvent, CredlyWebhookRejection
from badges.tasks.webhooks import enqueue_credly_webhook_event

logger = logging.getLogger(__name__)

#: Credly's notice is four short fields (about 200 bytes); anything much larger is not from Credly.
MAX_BODY_BYTES = 4096
REQUIRED_FIELDS = ("id", "organization_id", "event_type", "occurred_at")

Reason = CredlyWebhookRejection.Reason


class InvalidNotice(ValueError):
    """The body is not a well-formed Credly webhook notice."""


@dataclass(frozen=True)
class WebhookNotice:
    """What Credly's POST says: which event to fetch back, from which organization."""

    event_id: uuid.UUID
    organization_id: uuid.UUID
    event_type: str
    occurred_at: str


def parse_notice(body: bytes) -> WebhookNotice:
    """Validate the POST body; raises :class:`InvalidNotice` saying what is wrong."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidNotice("the body is not JSON") from None
    except RecursionError:
        raise InvalidNotice("the body is nested too deeply") from None
    if not isinstance(data, dict):
        raise InvalidNotice("the body is not a JSON object")
    missing = [name for name in REQUIRED_FIELDS if not data.get(name)]
    if missing:
        raise InvalidNotice(f"missing fields: {', '.join(missing)}")
    return WebhookNotice(
        event_id=_uuid_field(data, "id"),
        organization_id=_uuid_field(data, "organization_id"),
        event_type=_text_field(data, "event_type", CredlyWebhookEvent._meta.get_field("event_type").max_length),
        occurred_at=_text_field(data, "occurred_at", CredlyWebhookEvent._meta.get_field("occurred_at").max_length),
    )


def _uuid_field(data: dict[str, Any], name: str) -> uuid.UUID:
    """Credly's ids are RFC 4122 UUIDs; MariaDB's UUID column refuses some others (NCS variant) outright."""
    try:
        value = uuid.UUID(str(data[name]))
    except ValueError:
        raise InvalidNotice(f"{name} is not a UUID") from None
    if value.variant != uuid.RFC_4122:
        raise InvalidNotice(f"{name} is not an RFC 4122 UUID")
    return value


def _text_field(data: dict[str, Any], name: str, max_length: int) -> str:
    value = data[name]
    if not isinstance(value, str) or len(value) > max_length:
        raise InvalidNotice(f"{name} is not a string of at most {max_length} characters")
    if not value.isprintable():
        raise InvalidNotice(f"{name} holds a character that is not printable (control, NUL or lone surrogate)")
    return value


def count_rejection(reason: str) -> None:
    """Add one to the counter of ``reason`` (one UPDATE; the row is created on first use)."""
    now = timezone.now()
    counters = CredlyWebhookRejection.objects.filter(reason=reason)
    if counters.update(count=F("count") + 1, last_rejected_at=now):
        return
    try:
        with transaction.atomic():
            CredlyWebhookRejection.objects.create(reason=reason, count=1, last_rejected_at=now)
    except IntegrityError:
        counters.update(count=F("count") + 1, last_rejected_at=now)


def reject(request: HttpRequest, status: int, reason: str, message: str) -> JsonResponse:
    logger.warning("Credly webhook refused (%d, %s) from %s: %s", status, reason,
                   request.META.get("REMOTE_ADDR", "?"), message)
    count_rejection(reason)
    return JsonResponse({"error": message}, status=status)


def secret_refusal(request: HttpRequest) -> JsonResponse | None:
    """401 without the configured token, 403 with a wrong one; None when it matches or none is set."""
    secret = badges_settings.CREDLY_WEBHOOK_SECRET
    if not secret:
        return None
    token = request.GET.get("token", "")
    if not token:
        return reject(request, 401, Reason.UNAUTHORIZED, "this endpoint needs its token")
    if not hmac.compare_digest(token.encode(), secret.encode()):
        return reject(request, 403, Reason.UNAUTHORIZED, "wrong token")
    return None


def read_limited_body(request: HttpRequest) -> bytes | None:
    """The body, or None when it is (or claims to be) over :data:`MAX_BODY_BYTES`; never reads more."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return None
    body = request.read(MAX_BODY_BYTES + 1)
    return None if len(body) > MAX_BODY_BYTES else body


def record_event(organization: CredlyOrganization, notice: WebhookNotice) -> bool:
    """Store the event once (unique on Credly's id) and queue it after commit; False for a redelivery."""
    with transaction.atomic():
        event, created = CredlyWebhookEvent.objects.get_or_create(
            event_id=notice.event_id,
            defaults={"organization": organization, "event_type": notice.event_type,
                      "occurred_at": notice.occurred_at},
        )
        if created:
            transaction.on_commit(partial(enqueue_credly_webhook_event, event.pk))
    return created


@csrf_exempt
@require_POST
def credly_webhook(request: HttpRequest) -> JsonResponse:
    """``POST /badges/credly/webhook/``: 200 for a recorded (or already recorded) event of a known organization."""
    if not badges_enabled():
        return JsonResponse({"error": "badges are disabled here; try again later"}, status=503)
    refusal = secret_refusal(request)
    if refusal is not None:
        return refusal
    body = read_limited_body(request)
    if body is None:
        return reject(request, 413, Reason.TOO_LARGE, f"the body is over {MAX_BODY_BYTES} bytes")
    try:
        notice = parse_notice(body)
    except InvalidNotice as error:
        return reject(request, 400, Reason.MALFORMED, str(error))
    organization = CredlyOrganization.objects.filter(uuid=notice.organization_id).first()
    if organization is None:
        return reject(request, 404, Reason.UNKNOWN_ORGANIZATION,
                      f"unknown organization {notice.organization_id}")
    created = record_event(organization, notice)
    logger.info("Credly webhook %s %s for organization %s: %s", notice.event_type, notice.event_id,
                organization.uuid, "recorded" if created else "already recorded")
    return JsonResponse({"event": str(notice.event_id), "recorded": created})
