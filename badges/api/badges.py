"""``badges/``: the badges a learner was awarded (or had revoked), with where they stand at the provider."""
from __future__ import annotations

from functools import partial
from typing import Any

from django.db.models import Count, Q, Window
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from badges import host
from badges.api.access import BadgesAPIView, PageQuery, query_filters, requested_learner
from badges.api.catalogue import badge_templates
from badges.api.learners import records_of
from badges.api.links import ProviderLinks
from badges.models import BadgeState, BadgeTemplate, Origin
from badges.sql import PreparedQuery

# The badge tables extend the host's credential table; these are their reverse one-to-one names.
CREDLY, ACCREDIBLE = "credlybadge", "accrediblebadge"


class BadgeFilters(PageQuery):
    username = serializers.CharField(
        required=False, default="", allow_blank=True,
        help_text="Staff: one learner's badges (staff naming nobody see everyone's).")
    template = serializers.UUIDField(required=False, help_text="Only badges of this template (its UUID).")
    status = serializers.ChoiceField(choices=[host.AWARDED, host.REVOKED], required=False,
                                     help_text="Only awarded, or only revoked, badges.")
    provider_state = serializers.ChoiceField(choices=[state.value for state in BadgeState], required=False,
                                             help_text="Only badges in this state at the provider.")


class BadgeTemplateOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    name = serializers.CharField()
    image = serializers.CharField()
    provider = serializers.ChoiceField(choices=[origin.value for origin in Origin])


class BadgeOut(serializers.Serializer):
    uuid = serializers.UUIDField(help_text="The badge record's id in this service.")
    username = serializers.CharField()
    template = BadgeTemplateOut()
    status = serializers.ChoiceField(choices=[host.AWARDED, host.REVOKED],
                                     help_text="Whether the learner holds the badge or it was taken back.")
    provider_state = serializers.ChoiceField(choices=[state.value for state in BadgeState],
                                             help_text="Where the badge stands at the provider.")
    external_id = serializers.CharField(allow_null=True, help_text="The badge's id at the provider, once known.")
    issued_at = serializers.DateTimeField(help_text="When this service awarded the badge.")
    url = serializers.URLField(allow_null=True, help_text="The learner's page for the badge at the provider.")


class BadgePage(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = BadgeOut(many=True)


def badge_records(filters: dict[str, Any], learner: str | None):
    """Badge records of either provider, newest first, as rows of the host's credential table."""
    records = host.UserCredential.objects.filter(Q(**{f"{CREDLY}__isnull": False})
                                                 | Q(**{f"{ACCREDIBLE}__isnull": False}))
    if learner is not None:
        records = records_of(records, learner)
    if "template" in filters:
        records = records.filter(credential_id__in=BadgeTemplate.objects.filter(uuid=filters["template"]).values("pk"))
    if "status" in filters:
        records = records.filter(status=filters["status"])
    if "provider_state" in filters:
        state = filters["provider_state"]
        records = records.filter(Q(**{f"{CREDLY}__state": state}) | Q(**{f"{ACCREDIBLE}__state": state}))
    return records.order_by("-created", "-pk").values(
        "uuid", "username", "status", "created", "credential_id",
        f"{CREDLY}__state", f"{CREDLY}__external_uuid", f"{ACCREDIBLE}__state", f"{ACCREDIBLE}__external_id",
    )


def badge_page(filters: dict[str, Any], learner: str | None, offset: int, limit: int) -> tuple[list[dict], int]:
    """One page of :func:`badge_records` and the number of all of them, read in one query.

    Without a template filter (every learner's own list) the query is compiled once per shape.
    """
    if "template" in filters:
        records = list(badge_records(filters, learner).annotate(total=Window(Count("pk")))[offset:offset + limit])
    else:
        values = {name: filters[name] for name in _TEXT_FILTERS if name in filters}
        if learner is not None:
            values["learner"] = learner
        shape = (tuple(values), offset, limit)
        query = _page_queries.get(shape)
        if query is None:
            if len(_page_queries) >= 256:
                _page_queries.clear()
            query = _page_queries[shape] = PreparedQuery(host.UserCredential, partial(
                _records_page, offset=offset, limit=limit), parameters=tuple(values))
        records = query.dicts(**values)
    return records, records[0]["total"] if records else 0


_TEXT_FILTERS = ("status", "provider_state")
_page_queries: dict[tuple, PreparedQuery] = {}


def _records_page(*, offset: int, limit: int, learner: str | None = None, **filters: str):
    records = badge_records(filters, learner).annotate(total=Window(Count("pk")))
    return records[offset:offset + limit]


def badge_rows(records: list[dict[str, Any]], links: ProviderLinks) -> list[dict[str, Any]]:
    """The API form of ``records``; their templates come from the configuration catalogue."""
    templates = badge_templates({record["credential_id"] for record in records})
    rows = []
    for record in records:
        template = templates[record["credential_id"]]
        is_credly = record[f"{CREDLY}__state"] is not None
        external_id = record[f"{CREDLY}__external_uuid"] if is_credly else record[f"{ACCREDIBLE}__external_id"]
        rows.append({
            "uuid": record["uuid"],
            "username": record["username"],
            "template": template,
            "status": record["status"],
            "provider_state": record[f"{CREDLY}__state"] if is_credly else record[f"{ACCREDIBLE}__state"],
            "external_id": None if external_id is None else str(external_id),
            "issued_at": record["created"],
            "url": links.learner_badge(template["provider"], external_id),
        })
    return rows


EXAMPLE = {
    "count": 2, "next": None, "previous": None,
    "results": [
        {"uuid": "5a0f3c1e-9d7b-4e61-8f0a-2c4b6d8e1f30", "username": "ann",
         "template": {"uuid": "8d2c6c2e-5b1e-4d8a-9b35-3f1b1c0d7a11", "name": "Data analysis foundations",
                      "image": "https://images.credly.com/images/8d2c6c2e/image.png", "provider": "credly"},
         "status": "awarded", "provider_state": "accepted", "external_id": "c3a1e5f7-2b4d-4c6e-8a0f-1e3c5a7b9d20",
         "issued_at": "2026-05-03T14:02:11Z",
         "url": "https://credly.com/badges/c3a1e5f7-2b4d-4c6e-8a0f-1e3c5a7b9d20"},
        {"uuid": "7e2d4f6a-1c3b-4a5d-9e7f-0b2c4d6e8f10", "username": "ann",
         "template": {"uuid": "1f3e5d7c-9b2a-4c6e-8d0f-2a4c6e8b0d12", "name": "Course completion",
                      "image": "", "provider": "accredible"},
         "status": "revoked", "provider_state": "expired", "external_id": "10452231",
         "issued_at": "2026-04-11T08:15:40Z", "url": "https://www.credential.net/10452231"},
    ],
}


@extend_schema(parameters=[BadgeFilters], responses=BadgePage,
               examples=[OpenApiExample("A learner's badges", value=EXAMPLE, response_only=True)])
class BadgesView(BadgesAPIView):
    """A learner's badges; staff may ask for anyone's, or everyone's, and filter them."""

    def get(self, request: Request) -> Response:
        filters = query_filters(BadgeFilters, request)
        learner = requested_learner(request, filters["username"].strip(), everyone=True)
        paginator = self.pagination_class()
        page = paginator.paginate_counted(request, filters.get("page", 1), partial(badge_page, filters, learner))
        return paginator.get_paginated_response(badge_rows(page, ProviderLinks.configured()))
