"""Credly webhook calls, read-only: what arrived, whether it was applied, and what was refused."""
from __future__ import annotations

from django.contrib import admin

from badges.admin.base import BadgesEnabledMixin
from badges.admin.progress import ReadOnlyAdminMixin
from badges.models import CredlyWebhookEvent, CredlyWebhookRejection


@admin.register(CredlyWebhookEvent)
class CredlyWebhookEventAdmin(BadgesEnabledMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("received_at", "event_type", "status", "notes")  # the organization is a filter
    list_filter = ("status", "event_type", "organization", "received_at")
    list_select_related = ("organization",)
    search_fields = ("event_id", "event_type", "error")
    date_hierarchy = "received_at"
    ordering = ("-received_at",)
    fields = ("event_id", "event_type", "organization", "occurred_at", "received_at", "status", "attempts",
              "applied_at", "notes")
    readonly_fields = fields

    class Media:
        css = {"all": ("badges/admin.css",)}

    @admin.display(description="notes", ordering="error")
    def notes(self, obj: CredlyWebhookEvent) -> str:
        """What applying the event did, or why it failed (the ``error`` field holds both)."""
        return obj.error or "-"


@admin.register(CredlyWebhookRejection)
class CredlyWebhookRejectionAdmin(BadgesEnabledMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("reason", "count", "last_rejected_at")
    fields = list_display
    readonly_fields = fields
