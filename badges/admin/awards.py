"""Awarded badges (Credly and Accredible): read-only lists, with retry and explicit re-award actions.

Nothing here edits a record by hand: the actions go through :mod:`badges.issuing`, the one place
a badge's status and provider state change, and queue the same provider task the engine queues.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from badges import issuing, signals
from badges.admin.base import BadgesEnabledMixin
from badges.models import AccredibleBadge, CredlyBadge
from badges.tasks.issuing import enqueue_sync, queue_retry


class ProviderBadgeAdmin(BadgesEnabledMixin, admin.ModelAdmin):
    """Shared by both providers; ``external_id_field`` names where the provider's id is kept."""

    external_id_field = ""
    list_filter = ("status", "state")
    actions = ("retry_issuing", "reaward")
    date_hierarchy = "created"

    def get_list_display(self, request: HttpRequest) -> tuple[str, ...]:
        """What fits a laptop's screen; attempts and their times are on the badge's own page."""
        return ("username", "template", "status", "state", self.external_id_field, "provider_error")

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return ("username", f"={self.external_id_field}", "=uuid")

    def get_fields(self, request: HttpRequest, obj=None) -> tuple[str, ...]:
        return ("uuid", "username", "template", "status", "state", self.external_id_field, "replaced_external_id",
                "provider_error", "issue_attempts", "last_attempt_at", "sync_started_at", "next_attempt_at", "created",
                "modified")

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> tuple[str, ...]:
        return self.get_fields(request, obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("credential")

    @admin.display(description="template")
    def template(self, obj: issuing.AnyBadge) -> str:
        return str(obj.credential) if obj.credential is not None else f"#{obj.credential_id} (deleted)"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        """The list's actions need the change permission; a record's own page stays read-only."""
        return obj is None and super().has_change_permission(request, obj)

    @admin.action(permissions=["change"], description="Retry issuing (created, no response or error)")
    def retry_issuing(self, request: HttpRequest, queryset: QuerySet) -> None:
        queued, skipped = [], []
        for badge in queryset:
            if queue_retry(badge):
                queued.append(badge)
            else:
                skipped.append(badge)
        self._report(request, queued, skipped, "queued for the provider",
                     "nothing to retry (already issued, or revoke done)")

    @admin.action(permissions=["change"], description="Re-award (revoked badges; issues them again)")
    def reaward(self, request: HttpRequest, queryset: QuerySet) -> None:
        done, skipped = [], []
        for badge in queryset:
            with transaction.atomic():
                reawarded = issuing.reaward(badge)
            if reawarded:
                signals.emit_badge_awarded(issuing.badge_data_of(badge))
                enqueue_sync(issuing.kind_of(badge).origin, str(badge.uuid))
                done.append(badge)
            else:
                skipped.append(badge)
        self._report(request, done, skipped, "re-awarded and queued for issuing", "not revoked")

    def _report(self, request: HttpRequest, done: list, skipped: list, done_text: str, skipped_text: str) -> None:
        if done:
            self.message_user(request, f"{len(done)} badge(s) {done_text}.", messages.SUCCESS)
        if skipped:
            names = ", ".join(f"{badge.username} ({badge.uuid})" for badge in skipped)
            self.message_user(request, f"Skipped, {skipped_text}: {names}.", messages.WARNING)


@admin.register(CredlyBadge)
class CredlyBadgeAdmin(ProviderBadgeAdmin):
    external_id_field = "external_uuid"


@admin.register(AccredibleBadge)
class AccredibleBadgeAdmin(ProviderBadgeAdmin):
    external_id_field = "external_id"
