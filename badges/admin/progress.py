"""Badge progress: read-only, to see how far each learner is and which event fulfilled what."""
from __future__ import annotations

from django.contrib import admin
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, QueryDict
from django.urls import path, reverse
from django.utils.html import format_html

from badges.admin.base import BadgesEnabledMixin
from badges.admin.learner import learner_page
from badges.models import BadgeProgress, BadgeRequirement, Fulfillment
from badges.rules import ProgressSummary, summarize_progress


class ReadOnlyAdminMixin:
    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class FulfillmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Fulfillment
    fields = ("requirement", "event_id", "event_type", "event_time", "created")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("requirement__template")


@admin.register(BadgeProgress)
class BadgeProgressAdmin(BadgesEnabledMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("username", "template", "fulfilled_groups", "ratio", "complete", "modified", "why_not_yet")
    list_filter = ("template__origin",)
    search_fields = ("username", "template__name")
    fields = ("username", "lms_user_id", "template", "fulfilled_groups", "ratio", "complete", "created", "modified")
    readonly_fields = fields
    inlines = (FulfillmentInline,)

    class Media:
        css = {"all": ("badges/admin.css",)}  # its list's date column may wrap: it fits a 1366 px screen

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        requirements = BadgeRequirement.objects.only("id", "group", "template_id")
        fulfillments = Fulfillment.objects.only("id", "progress_id", "requirement_id")
        return (
            super().get_queryset(request)
            .select_related("template")
            .prefetch_related(
                Prefetch("fulfillments", queryset=fulfillments),
                Prefetch("template__requirements", queryset=requirements),
            )
        )

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(lambda request: learner_page(self, request))
        return [path("learner/", view, name="badges_badgeprogress_learner"), *super().get_urls()]

    @admin.display(description="why?")
    def why_not_yet(self, obj: BadgeProgress) -> str:
        url = reverse(f"{self.admin_site.name}:badges_badgeprogress_learner")
        query = QueryDict(mutable=True)
        query["username"] = obj.username
        return format_html('<a href="{}?{}">explain</a>', url, query.urlencode())

    def summary(self, obj: BadgeProgress) -> ProgressSummary:
        """Computed in Python from the prefetched requirements and fulfillments: no query per row."""
        groups = {requirement.id: requirement.group for requirement in obj.template.requirements.all()}
        return summarize_progress(groups, (f.requirement_id for f in obj.fulfillments.all()))

    @admin.display(description="fulfilled groups")
    def fulfilled_groups(self, obj: BadgeProgress) -> str:
        summary = self.summary(obj)
        return f"{', '.join(sorted(summary.fulfilled_groups)) or '-'} of {', '.join(sorted(summary.groups)) or '-'}"

    @admin.display(description="ratio")
    def ratio(self, obj: BadgeProgress) -> str:
        return f"{self.summary(obj).ratio:.0%}"

    @admin.display(description="complete", boolean=True)
    def complete(self, obj: BadgeProgress) -> bool:
        return self.summary(obj).complete
