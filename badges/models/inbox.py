"""Durable records of what arrived from outside: bus events and Credly webhook calls."""
from __future__ import annotations

from django.db import models

from badges.models.accounts import CredlyOrganization


class ReceivedEvent(models.Model):
    """A bus event that matched configuration, recorded in the transaction that applies it.

    Unique on the event id, so a redelivered or replayed event is recognised. An event that
    failed (while reading, matching or applying it) is recorded ``failed`` instead, with its
    payload when it could be read, and the sweep applies it later.
    """

    class Status(models.TextChoices):
        # Written explicitly by the engine: processed with the event's effects, or failed.
        PROCESSED = "processed", "processed"
        FAILED = "failed", "failed"

    event_id = models.UUIDField(unique=True)
    event_type = models.CharField(max_length=255)
    event_time = models.DateTimeField(null=True, blank=True)
    username = models.CharField(max_length=255, blank=True)
    payload = models.JSONField(help_text="The event's kwargs as plain data, to finish it later.")
    status = models.CharField(max_length=16, choices=Status.choices, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} ({self.status})"


class CredlyWebhookEvent(models.Model):
    """A Credly webhook delivery for a known organization; applied from data fetched back from Credly."""

    class Status(models.TextChoices):
        RECEIVED = "received", "received"
        APPLIED = "applied", "applied"
        FAILED = "failed", "failed"
        IGNORED = "ignored", "ignored"

    event_id = models.UUIDField(unique=True, help_text="Credly's event ID.")
    organization = models.ForeignKey(CredlyOrganization, on_delete=models.CASCADE, related_name="webhook_events")
    event_type = models.CharField(max_length=255)
    occurred_at = models.CharField(max_length=64, blank=True, help_text="As Credly sent it.")
    credly_badge_id = models.UUIDField(
        null=True, blank=True, db_index=True,
        help_text="For badge events: the Credly badge whose state this event set (once applied).",
    )
    occurred_at_time = models.DateTimeField(
        null=True, blank=True,
        help_text="When Credly's own record says the event happened; badge events apply in this order.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When the next fetch is due after Credly failed; the sweep waits for it."
    )
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "Credly webhook event"

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} ({self.status})"


class CredlyWebhookRejection(models.Model):
    """How many webhook calls were refused, per reason: the only trace a refused call leaves.

    A refused call stores nothing from its body, so a sender hammering the endpoint with bad or
    foreign calls costs one counter update each and shows up here for the operator.
    """

    class Reason(models.TextChoices):
        MALFORMED = "malformed", "malformed body (400)"
        UNAUTHORIZED = "unauthorized", "missing or wrong secret (401/403)"
        UNKNOWN_ORGANIZATION = "unknown_organization", "unknown organization (404)"
        TOO_LARGE = "too_large", "body too large (413)"

    reason = models.CharField(max_length=32, choices=Reason.choices, unique=True)
    count = models.PositiveBigIntegerField(default=0)
    last_rejected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "rejected Credly webhook call"

    def __str__(self) -> str:
        return f"{self.get_reason_display()}: {self.count}"
