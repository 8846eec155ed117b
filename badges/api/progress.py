"""``progress/``: how far a learner is towards every active template that has requirements."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from badges.api.access import BadgesAPIView, PageQuery, query_filters, requested_learner
from badges.api.catalogue import ShownTemplate, shown_templates
from badges.api.learners import records_of
from badges.models import BadgeProgress, Fulfillment
from badges.rules import summarize_progress
from badges.sql import PreparedQuery


class ProgressFilters(PageQuery):
    username = serializers.CharField(required=False, default="", allow_blank=True,
                                     help_text="Staff: another learner's username.")
    template = serializers.UUIDField(required=False, help_text="Only this template (its UUID).")


class TemplateOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    image = serializers.CharField(help_text="Image URL at the provider; may be empty.")
    provider = serializers.ChoiceField(choices=["credly", "accredible"])
    dashboard_url = serializers.CharField(allow_null=True, help_text="The template's page at the provider.")


class RequirementOut(serializers.Serializer):
    description = serializers.CharField()
    event_type = serializers.CharField()
    fulfilled = serializers.BooleanField()
    fulfilled_at = serializers.DateTimeField(allow_null=True, help_text="Time of the fulfilling event.")
    event_id = serializers.UUIDField(allow_null=True, help_text="Id of the fulfilling event.")


class GroupOut(serializers.Serializer):
    group = serializers.CharField(help_text="Letter; requirements of one group are alternatives.")
    fulfilled = serializers.BooleanField()
    requirements = RequirementOut(many=True)


class ProgressOut(serializers.Serializer):
    template = TemplateOut()
    groups = GroupOut(many=True)
    ratio = serializers.FloatField(help_text="Fulfilled groups / groups, 0 to 1.")
    complete = serializers.BooleanField()


class ProgressPage(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ProgressOut(many=True)


_FULFILLED = PreparedQuery(Fulfillment, lambda learner: Fulfillment.objects.filter(
    progress__in=records_of(BadgeProgress.objects.all(), learner),
).values_list("requirement_id", "event_id", "event_time"), parameters=("learner",))


def progress_rows(templates: Sequence[ShownTemplate], learner: str) -> list[dict[str, Any]]:
    """The progress of ``learner`` on ``templates``: one query, whatever their number."""
    fulfilled = {requirement: (event_id, event_time)
                 for requirement, event_id, event_time in _FULFILLED.rows(learner=learner)}
    return [_progress_of(template, fulfilled) for template in templates]


def _progress_of(template: ShownTemplate, fulfilled: dict[int, tuple]) -> dict[str, Any]:
    done = [rid for rid in template.group_of if rid in fulfilled]
    if not done:
        return template.unstarted
    summary = summarize_progress(template.group_of, done)
    return {
        "template": template.fields,
        "groups": [
            {"group": group, "fulfilled": group in summary.fulfilled_groups, "requirements": [
                template.unfulfilled[rid] if rid not in fulfilled else {
                    "description": description, "event_type": event_type, "fulfilled": True,
                    "fulfilled_at": fulfilled[rid][1], "event_id": fulfilled[rid][0]}
                for rid, event_type, description in requirements
            ]}
            for group, requirements in template.groups
        ],
        "ratio": summary.ratio,
        "complete": summary.complete,
    }


EXAMPLE = {
    "count": 1, "next": None, "previous": None,
    "results": [{
        "template": {
            "uuid": "8d2c6c2e-5b1e-4d8a-9b35-3f1b1c0d7a11", "name": "Data analysis foundations",
            "description": "Pass the statistics course and one of the two Python courses.",
            "image": "https://images.credly.com/images/8d2c6c2e/image.png", "provider": "credly",
            "dashboard_url": "https://credly.com/mgmt/organizations/2f8f2a4c-63b1-4c53-a2c9-7c3d1d4f0e55"
                             "/badges/templates/8d2c6c2e-5b1e-4d8a-9b35-3f1b1c0d7a11/details",
        },
        "groups": [
            {"group": "A", "fulfilled": True, "requirements": [{
                "description": "Pass Statistics 101",
                "event_type": "org.openedx.learning.course.passing.status.updated.v1", "fulfilled": True,
                "fulfilled_at": "2026-05-01T09:30:00Z", "event_id": "0b5e8a47-3f0c-4f39-9d62-2b7c3fd0c6a2"}]},
            {"group": "B", "fulfilled": False, "requirements": [
                {"description": "Pass Python 101",
                 "event_type": "org.openedx.learning.course.passing.status.updated.v1", "fulfilled": False,
                 "fulfilled_at": None, "event_id": None},
                {"description": "Pass Python for data",
                 "event_type": "org.openedx.learning.course.passing.status.updated.v1", "fulfilled": False,
                 "fulfilled_at": None, "event_id": None}]},
        ],
        "ratio": 0.5, "complete": False,
    }],
}


@extend_schema(parameters=[ProgressFilters], responses=ProgressPage,
               examples=[OpenApiExample("A learner half way", value=EXAMPLE, response_only=True)])
class ProgressView(BadgesAPIView):
    """A learner's progress on every active template with requirements, whether started or not."""

    def get(self, request: Request) -> Response:
        filters = query_filters(ProgressFilters, request)
        learner = requested_learner(request, filters["username"].strip())
        templates = shown_templates()
        if "template" in filters:
            templates = tuple(t for t in templates if t.uuid == str(filters["template"]))
        page, paginator = self.paginate(request, templates)
        return paginator.get_paginated_response(progress_rows(page, learner))
