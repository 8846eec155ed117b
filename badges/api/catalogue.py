"""What the API shows of the configuration (templates and requirements), read once per configuration version.

Templates and requirements change only through the admin or a provider sync, and both move the
rulebook version (:class:`badges.models.RulebookVersion`). A request compares that counter (one
cheap query) and reuses the catalogue built for it, so it reads only the learner's own rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db.models import Exists, OuterRef

from badges.api.links import ProviderLinks
from badges.models import BadgeRequirement, BadgeTemplate, RulebookVersion
from badges.rules import summarize_progress


@dataclass(frozen=True)
class ShownTemplate:
    """One template as the API shows it: its fields, and its requirements by group letter, as
    ``(group, ((id, event type, description), ...))`` in letter order."""

    uuid: str
    fields: dict[str, Any]
    groups: tuple[tuple[str, tuple[tuple[int, str, str], ...]], ...]
    group_of: dict[int, str]

    @cached_property
    def unfulfilled(self) -> dict[int, dict[str, Any]]:
        """Each requirement as the API shows it while unfulfilled: built once, shared by every response."""
        return {
            rid: {"description": description, "event_type": event_type, "fulfilled": False,
                  "fulfilled_at": None, "event_id": None}
            for _, requirements in self.groups for rid, event_type, description in requirements
        }

    @cached_property
    def unstarted(self) -> dict[str, Any]:
        """The progress of a learner who fulfilled none of the requirements: shared by every such response."""
        summary = summarize_progress(self.group_of, ())
        return {
            "template": self.fields,
            "groups": [{"group": group, "fulfilled": False,
                        "requirements": [self.unfulfilled[rid] for rid, _, _ in requirements]}
                       for group, requirements in self.groups],
            "ratio": summary.ratio,
            "complete": summary.complete,
        }


@dataclass(frozen=True)
class Catalogue:
    """The configuration at one version; each part is read the first time a request needs it."""

    version: str
    links: ProviderLinks

    @cached_property
    def templates(self) -> tuple[ShownTemplate, ...]:
        return _load(self.links)

    @cached_property
    def badge_templates(self) -> dict[int, dict[str, Any]]:
        """Every template (active or not: a badge outlives its template's activity) as a badge shows it, by id."""
        return _badge_templates(BadgeTemplate.objects.all())


_current: Catalogue | None = None


def current() -> Catalogue:
    """The catalogue of the current configuration version: one cheap query to compare the version."""
    global _current
    version, links = RulebookVersion.current(), ProviderLinks.configured()
    catalogue = _current
    if catalogue is None or catalogue.version != version or catalogue.links != links:
        catalogue = _current = Catalogue(version, links)
    return catalogue


def shown_templates() -> tuple[ShownTemplate, ...]:
    """Active templates that have a requirement, by name; templates in draft at the provider never show."""
    return current().templates


def badge_templates(template_ids: set[int]) -> dict[int, dict[str, Any]]:
    """The templates of ``template_ids`` as a badge shows them; from the catalogue, or read when the
    catalogue, built before they were created, lacks them."""
    known = current().badge_templates
    missing = template_ids - known.keys()
    if not missing:
        return known
    return {**known, **_badge_templates(BadgeTemplate.objects.filter(pk__in=missing))}


def _badge_templates(templates) -> dict[int, dict[str, Any]]:
    return {pk: {"uuid": str(uuid), "name": name, "image": icon, "provider": origin}
            for pk, uuid, name, icon, origin in templates.values_list("id", "uuid", "name", "icon", "origin")}


def _load(links: ProviderLinks) -> tuple[ShownTemplate, ...]:
    """Two queries: the templates, then all their requirements."""
    has_requirement = Exists(BadgeRequirement.objects.filter(template=OuterRef("pk")))
    rows = list(
        BadgeTemplate.objects.filter(has_requirement, is_active=True)
        .exclude(state=BadgeTemplate.State.DRAFT)
        .order_by("name", "id")
        .values_list("id", "uuid", "name", "description", "icon", "origin", "credlybadgetemplate__organization__uuid")
    )
    groups: dict[int, dict[str, list[tuple[int, str, str]]]] = {row[0]: {} for row in rows}
    for rid, template_id, group, event_type, description in (
        BadgeRequirement.objects.filter(template_id__in=list(groups)).order_by("group", "id")
        .values_list("id", "template_id", "group", "event_type", "description")
    ):
        groups[template_id].setdefault(group, []).append((rid, event_type, description))
    return tuple(
        ShownTemplate(
            uuid=str(uuid),
            fields={"uuid": str(uuid), "name": name, "description": description, "image": icon, "provider": origin,
                    "dashboard_url": links.template_dashboard(origin, organization, uuid)},
            groups=tuple((group, tuple(requirements)) for group, requirements in groups[pk].items()),
            group_of={rid: group for group, requirements in groups[pk].items() for rid, _, _ in requirements},
        )
        for pk, uuid, name, description, icon, origin, organization in rows
    )


def forget() -> None:
    """Drop the catalogue (tests: a rolled-back transaction can reuse a version number)."""
    global _current
    _current = None
