"""Requirement and penalty pages, each with its data rules inline."""
from __future__ import annotations

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from badges.admin.base import RulebookAdminMixin, guarded_delete_action
from badges.admin.forms import DataRuleForm, DataRuleInlineFormSet, PenaltyAdminForm, RequirementAdminForm
from badges.models import BadgePenalty, BadgeRequirement, DataRule, PenaltyDataRule


def rules_text(obj: BadgeRequirement | BadgePenalty) -> str:
    """The data rules as one line, e.g. ``is_passing eq true AND course.course_key eq ...``.

    Reads ``obj.rules.all()``, so callers listing many rows prefetch ``rules``.
    """
    return " AND ".join(str(rule) for rule in obj.rules.all()) or "any event of this type"


class RuleInline(admin.TabularInline):
    """Data rules on a requirement's or penalty's page, checked against its event type's key paths."""

    form = DataRuleForm
    formset = DataRuleInlineFormSet
    fields = ("data_path", "operator", "value")
    extra = 1


class DataRuleInline(RuleInline):
    model = DataRule


class PenaltyDataRuleInline(RuleInline):
    model = PenaltyDataRule


@admin.register(BadgeRequirement)
class BadgeRequirementAdmin(RulebookAdminMixin, admin.ModelAdmin):
    form = RequirementAdminForm
    inlines = (DataRuleInline,)
    list_display = ("template", "group", "event_type", "rules", "description")
    list_filter = ("event_type", "template__origin")
    search_fields = ("template__name", "description")
    list_select_related = ("template",)
    actions = (
        guarded_delete_action(
            Q(template__is_active=True), "their template is active; remove them on the template's page"
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("rules")

    def get_readonly_fields(self, request: HttpRequest, obj: BadgeRequirement | None = None) -> tuple[str, ...]:
        return ("template",) if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: BadgeRequirement | None = None) -> bool:
        """An active template's requirements are removed on its page, which checks one remains."""
        if obj is not None and obj.template.is_active:
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description="rules")
    def rules(self, obj: BadgeRequirement) -> str:
        return rules_text(obj)


@admin.register(BadgePenalty)
class BadgePenaltyAdmin(RulebookAdminMixin, admin.ModelAdmin):
    form = PenaltyAdminForm
    inlines = (PenaltyDataRuleInline,)
    list_display = ("template", "event_type", "rules", "description")
    list_filter = ("event_type", "template__origin")
    search_fields = ("template__name", "description")
    list_select_related = ("template",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("rules")

    def get_readonly_fields(self, request: HttpRequest, obj: BadgePenalty | None = None) -> tuple[str, ...]:
        return ("template",) if obj is not None else ()

    @admin.display(description="rules")
    def rules(self, obj: BadgePenalty) -> str:
        return rules_text(obj)
