"""Credly badge templates and Accredible groups: synced from the provider, activated by the operator.

Only ``is_active`` is the operator's; everything else comes from the provider's sync. Saving a
template bumps the rulebook version (``RulebookModel.save()``), so (de)activation takes effect on
the next event.
"""
from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.html import format_html

from badges.admin.base import RulebookAdminMixin, guarded_delete_action
from badges.admin.forms import (
    BadgeTemplateAdminForm,
    PenaltyAdminForm,
    RequirementAdminForm,
    RequirementInlineFormSet,
    TemplateChildFormSet,
)
from badges.admin.requirements import rules_html, warn_about_unruled
from badges.conf import provider_urls
from badges.models import AccredibleGroup, BadgePenalty, BadgeRequirement, BadgeTemplate, CredlyBadgeTemplate

PROVIDER_FIELDS = ("uuid", "name", "description", "icon", "state", "origin", "site")


class TemplateChildInline(admin.TabularInline):
    """A requirement or penalty row on its template's page; its rules are edited on its own page."""

    readonly_fields = ("rules",)
    show_change_link = True
    prefetched: tuple[str, ...] = ("rules",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        """The template for each row's title, the rules for its summary: no query per row."""
        return super().get_queryset(request).select_related("template").prefetch_related(*self.prefetched)

    @admin.display(description="data rules (edit on the row's own page)")
    def rules(self, obj: BadgeRequirement | BadgePenalty) -> str:
        return rules_html(obj) if obj.pk else "-"


class RequirementInline(TemplateChildInline):
    model = BadgeRequirement
    form = RequirementAdminForm
    formset = RequirementInlineFormSet
    fields = ("group", "event_type", "description", "rules")
    extra = 1


class PenaltyInline(TemplateChildInline):
    model = BadgePenalty
    form = PenaltyAdminForm
    formset = TemplateChildFormSet
    fields = ("event_type", "requirements", "description", "rules")
    prefetched = ("rules", "requirements")
    extra = 0


class BadgeTemplateAdmin(RulebookAdminMixin, admin.ModelAdmin):
    """Shared by both providers; subclasses name their provider account field."""

    account_field = ""
    form = BadgeTemplateAdminForm
    inlines = (RequirementInline, PenaltyInline)
    search_fields = ("name", "uuid")
    list_display_links = ("image", "name")
    actions = (guarded_delete_action(Q(is_active=True), "active; deactivate them first"),)

    def get_list_display(self, request: HttpRequest) -> tuple[str, ...]:
        return ("image", "name", self.account_field, "state", "is_active", "dashboard")

    def get_list_filter(self, request: HttpRequest) -> tuple[str, ...]:
        return ("is_active", "state", self.account_field)

    def get_list_select_related(self, request: HttpRequest) -> tuple[str, ...]:
        return (self.account_field,)

    def get_fields(self, request: HttpRequest, obj: BadgeTemplate | None = None) -> tuple[str, ...]:
        return ("image", *PROVIDER_FIELDS, *self.provider_fields(), "dashboard", "is_active")

    def get_readonly_fields(self, request: HttpRequest, obj: BadgeTemplate | None = None) -> tuple[str, ...]:
        return ("image", *PROVIDER_FIELDS, *self.provider_fields(), "dashboard")

    def provider_fields(self) -> tuple[str, ...]:
        return (self.account_field,)

    def get_form(self, request: HttpRequest, obj: BadgeTemplate | None = None, change: bool = False,
                 **kwargs: Any) -> type[ModelForm]:
        form = super().get_form(request, obj, change, **kwargs)
        form.activation_checked_by_inline = any(
            isinstance(inline, RequirementInline) for inline in self.get_inline_instances(request, obj)
        )
        return form

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Templates come from the provider's sync only."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: BadgeTemplate | None = None) -> bool:
        if obj is not None and obj.is_active:
            return False
        return super().has_delete_permission(request, obj)

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: list, change: bool) -> None:
        """Once the inline requirements and penalties are saved: warn about those without a data rule."""
        super().save_related(request, form, formsets, change)
        warn_about_unruled(self, request, form.instance)

    def save_model(self, request: HttpRequest, obj: BadgeTemplate, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data:
            if obj.is_active:
                self.message_user(request, f"{obj} is active: new events are processed for it.")
            else:
                self.message_user(
                    request, f"{obj} is inactive: its events are no longer processed; issued badges are kept.",
                    messages.WARNING,
                )

    @admin.display(description="image")
    def image(self, obj: BadgeTemplate) -> str:
        if not obj.icon.startswith(("https://", "http://")):
            return "-"
        return format_html('<img src="{}" alt="" style="max-height: 48px; max-width: 48px;">', obj.icon)

    @admin.display(description="provider dashboard")
    def dashboard(self, obj: BadgeTemplate) -> str:
        return format_html('<a href="{}" target="_blank" rel="noopener">open</a>', self.dashboard_url(obj))

    def dashboard_url(self, obj: BadgeTemplate) -> str:
        raise NotImplementedError


@admin.register(CredlyBadgeTemplate)
class CredlyBadgeTemplateAdmin(BadgeTemplateAdmin):
    account_field = "organization"

    def dashboard_url(self, obj: CredlyBadgeTemplate) -> str:
        """The template's page in Credly's management dashboard (``CREDLY_BASE_URL``)."""
        return (f"{provider_urls('credly')['base']}mgmt/organizations/{obj.organization.uuid}"
                f"/badges/templates/{obj.uuid}/details")


@admin.register(AccredibleGroup)
class AccredibleGroupAdmin(BadgeTemplateAdmin):
    account_field = "api_config"

    def provider_fields(self) -> tuple[str, ...]:
        return (self.account_field, "external_id")

    def dashboard_url(self, obj: AccredibleGroup) -> str:
        """The group's page in Accredible's dashboard (``ACCREDIBLE_BASE_URL``)."""
        base = provider_urls("accredible")["base"]
        return f"{base}issuer/dashboard/group/{obj.external_id}/information-and-appearance"
