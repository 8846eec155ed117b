"""Requirement and penalty pages, each with its data rules inline.

Saving one of them returns to its template's page, where the operator configures the badge.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html_join

from badges.admin.base import RulebookAdminMixin, guarded_delete_action
from badges.admin.forms import DataRuleForm, DataRuleInlineFormSet, PenaltyAdminForm, RequirementAdminForm
from badges.models import BadgePenalty, BadgeRequirement, BadgeTemplate, DataRule, PenaltyDataRule

NO_RULE_TEXT = "any event of this type"


def rules_text(obj: BadgeRequirement | BadgePenalty) -> str:
    """The data rules as one line, e.g. ``is_passing = true AND course.course_key = ...``.

    Reads ``obj.rules.all()``, so callers listing many rows prefetch ``rules``.
    """
    return " AND ".join(str(rule) for rule in obj.rules.all()) or NO_RULE_TEXT


def rules_html(obj: BadgeRequirement | BadgePenalty) -> str:
    """The data rules one per line, for narrow columns."""
    rules = list(obj.rules.all())
    if not rules:
        return NO_RULE_TEXT
    return format_html_join("", "<div><code>{}</code></div>", ((str(rule),) for rule in rules))


def unruled_warnings(template: BadgeTemplate) -> list[str]:
    """Why an active template's requirements or penalties without a data rule are probably a mistake."""
    if not template.is_active:
        return []
    warnings = [
        f"Requirement group {requirement.group} ({requirement.event_type}) has no data rule: any such event "
        "fulfils it, even a failing grade or another course. Add a rule on its page."
        for requirement in template.requirements.filter(rules__isnull=True)
    ]
    warnings += [
        f"Penalty ({penalty.event_type}) has no data rule: every such event takes progress back, so the "
        "badge may become impossible to earn. Add a rule on its page."
        for penalty in template.penalties.filter(rules__isnull=True)
    ]
    return warnings


def warn_about_unruled(modeladmin: admin.ModelAdmin, request: HttpRequest, template: BadgeTemplate) -> None:
    for warning in unruled_warnings(template):
        modeladmin.message_user(request, f"{template}: {warning}", messages.WARNING)


class TemplateChildAdminMixin:
    """After saving, back to the template's page; warn when the active template is left with a rule-less row."""

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: list, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        warn_about_unruled(self, request, form.instance.template)

    def response_add(self, request: HttpRequest, obj: BadgeRequirement | BadgePenalty,
                     post_url_continue: str | None = None) -> HttpResponse:
        response = super().response_add(request, obj, post_url_continue)
        return self.back_to_template(request, obj, response)

    def response_change(self, request: HttpRequest, obj: BadgeRequirement | BadgePenalty) -> HttpResponse:
        return self.back_to_template(request, obj, super().response_change(request, obj))

    def back_to_template(self, request: HttpRequest, obj: BadgeRequirement | BadgePenalty,
                         response: HttpResponse) -> HttpResponse:
        if any(key in request.POST for key in ("_continue", "_addanother", "_popup", "_saveasnew")):
            return response
        if not isinstance(response, HttpResponseRedirect):
            return response
        template = obj.template.provider_template
        opts = template._meta
        return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[template.pk]))


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
class BadgeRequirementAdmin(TemplateChildAdminMixin, RulebookAdminMixin, admin.ModelAdmin):
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

    @admin.display(description="data rules")
    def rules(self, obj: BadgeRequirement) -> str:
        return rules_html(obj)


@admin.register(BadgePenalty)
class BadgePenaltyAdmin(TemplateChildAdminMixin, RulebookAdminMixin, admin.ModelAdmin):
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

    @admin.display(description="data rules")
    def rules(self, obj: BadgePenalty) -> str:
        return rules_html(obj)
