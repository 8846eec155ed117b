"""Pieces every badge admin shares: the feature switch, version bumps on bulk deletes, guarded deletes."""
from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse

from badges.conf import badges_enabled
from badges.models import RulebookVersion


class BadgesEnabledMixin:
    """Hides the admin section, and refuses its pages, while ``BADGES_ENABLED`` is off."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return badges_enabled() and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return badges_enabled() and super().has_view_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return badges_enabled() and super().has_change_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return badges_enabled() and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return badges_enabled() and super().has_delete_permission(request, obj)


class RulebookAdminMixin(BadgesEnabledMixin):
    """For models whose rows steer processing: a bulk delete bypasses ``Model.delete()``, so bump here,
    naming the templates the deleted rows belonged to (read before the delete).

    Their pages share a little CSS that keeps the inline rows narrow.
    """

    class Media:
        css = {"all": ("badges/admin.css",)}

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        touched = queryset.model.templates_of(queryset)
        super().delete_queryset(request, queryset)
        RulebookVersion.bump(touched)


def guarded_delete_action(blocked: Q, reason: str) -> Callable[..., HttpResponse | None]:
    """A replacement for the built-in bulk delete that leaves rows matching ``blocked`` alone.

    It keeps the name ``delete_selected`` so the confirmation page posts back to it, and filters
    again on confirmation, so a row that became blocked in between is still skipped. ``blocked``
    may follow a to-many relation (a row is listed once however many related rows block it).
    """

    @admin.action(permissions=["delete"], description="Delete selected %(verbose_name_plural)s")
    def delete_selected(modeladmin, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        skipped = list(queryset.filter(blocked).distinct())
        if skipped:
            names = ", ".join(str(obj) for obj in skipped)
            modeladmin.message_user(request, f"Not deleted ({reason}): {names}.", messages.WARNING)
        deletable = queryset.exclude(blocked)
        if not deletable.exists():
            return None
        return django_delete_selected(modeladmin, request, deletable)

    return delete_selected
