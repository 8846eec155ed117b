"""The operator's "why not yet" page: for one learner, per template, what is fulfilled, what is missing,
and where the badge stands at the provider.

Served under the Badge progress admin (``badgeprogress/learner/?username=...``) with its view
permission. A fixed number of queries whatever the number of templates.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from badges.api.learners import records_of
from badges.models import (
    AccredibleBadge,
    BadgeProgress,
    BadgeRequirement,
    BadgeTemplate,
    CredlyBadge,
    CredlyWebhookEvent,
    DataRule,
    Fulfillment,
)
from badges.rules import summarize_progress


@dataclass
class GroupExplanation:
    letter: str
    fulfilled_by: list[tuple[BadgeRequirement, Fulfillment]] = field(default_factory=list)
    alternatives: list[BadgeRequirement] = field(default_factory=list)

    @property
    def fulfilled(self) -> bool:
        return bool(self.fulfilled_by)


@dataclass
class TemplateExplanation:
    template: BadgeTemplate
    groups: list[GroupExplanation]
    ratio: float
    complete: bool
    badge: CredlyBadge | AccredibleBadge | None
    provider_events: list[CredlyWebhookEvent]


def explain_learner(username: str) -> list[TemplateExplanation]:
    """Every active template with requirements, plus any other the learner has progress or a badge for."""
    progress = records_of(BadgeProgress.objects.all(), username)
    badges = [*records_of(CredlyBadge.objects.all(), username), *records_of(AccredibleBadge.objects.all(), username)]
    templates = list(
        BadgeTemplate.objects.filter(
            Q(is_active=True, requirements__isnull=False) | Q(pk__in=progress.values("template_id"))
            | Q(pk__in=[badge.credential_id for badge in badges]))
        .distinct().order_by("name", "id")
        .prefetch_related(Prefetch("requirements", queryset=BadgeRequirement.objects.prefetch_related(
            Prefetch("rules", queryset=DataRule.objects.order_by("id"))))))
    fulfillments = {f.requirement_id: f for f in Fulfillment.objects.filter(progress__in=progress)}
    badge_of = {badge.credential_id: badge for badge in badges}
    events = defaultdict(list)
    credly_ids = [badge.external_uuid for badge in badges if isinstance(badge, CredlyBadge) and badge.external_uuid]
    for event in CredlyWebhookEvent.objects.filter(credly_badge_id__in=credly_ids).order_by("occurred_at_time", "id"):
        events[event.credly_badge_id].append(event)
    return [_explain(template, fulfillments, badge_of.get(template.pk), events) for template in templates]


def _explain(template: BadgeTemplate, fulfillments: dict[int, Fulfillment],
             badge: CredlyBadge | AccredibleBadge | None, events: dict[Any, list]) -> TemplateExplanation:
    requirements = list(template.requirements.all())
    groups: dict[str, GroupExplanation] = {}
    for requirement in requirements:
        group = groups.setdefault(requirement.group, GroupExplanation(requirement.group))
        if requirement.id in fulfillments:
            group.fulfilled_by.append((requirement, fulfillments[requirement.id]))
        else:
            group.alternatives.append(requirement)
    summary = summarize_progress({r.id: r.group for r in requirements}, fulfillments)
    external = getattr(badge, "external_uuid", None)
    return TemplateExplanation(template=template, groups=list(groups.values()), ratio=summary.ratio,
                               complete=summary.complete, badge=badge, provider_events=events.get(external, []))


def learner_page(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    username = request.GET.get("username", "").strip()
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": f"Why not yet: {username}" if username else "Why not yet: a learner's badges",
        "username": username,
        "explanations": explain_learner(username) if username else [],
    }
    return TemplateResponse(request, "admin/badges/learner_explanation.html", context)
