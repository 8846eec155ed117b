"""What the progress resource shows of the configuration, read once per configuration version.

Templates and requirements change only through the admin or a provider sync, and both move the
rulebook version (:class:`badges.models.RulebookVersion`). A request compares that counter (one
cheap query) and reuses the catalogue built for it, so it reads only the learner's own rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef

from badges.api.links import ProviderLinks
from badges.models import BadgeRequirement, BadgeTemplate, RulebookVersion


@dataclass(frozen=True)
class ShownTemplate:
    """One template as the API shows it, with its requirements as ``(id, group, event type, description)``."""

    uuid: str
    fields: dict[str, Any]
    requirements: tuple[tuple[int, str, str, str], ...]

    @property
    def groups(self) -> dict[int, str]:
        return {rid: group for rid, group, _, _ in self.requirements}


@dataclass(frozen=True)
class Catalogue:
    version: int
    links: ProviderLinks
    templates: tuple[ShownTemplate, ...]


_current: Catalogue | None = None


def shown_templates() -> tuple[ShownTemplate, ...]:
    """Active templates that have a requirement, by name; templates in draft at the provider never show."""
    global _current
    version, links = RulebookVersion.current(), ProviderLinks.configured()
    catalogue = _current
    if catalogue is None or catalogue.version != version or catalogue.links != links:
        catalogue = _current = Catalogue(version, links, _load(links))
    return catalogue.templates


def _load(links: ProviderLinks) -> tuple[ShownTemplate, ...]:
    """Two queries: the templates, then all their requirements."""
    has_requirement = Exists(BadgeRequirement.objects.filter(template=OuterRef("pk")))
    rows = list(
        BadgeTemplate.objects.filter(has_requirement, is_active=True)
        .exclude(state=BadgeTemplate.State.DRAFT)
        .order_by("name", "id")
        .values_list("id", "uuid", "name", "description", "icon", "origin", "credlybadgetemplate__organization__uuid")
    )
    requirements: dict[int, list[tuple[int, str, str, str]]] = {row[0]: [] for row in rows}
    for rid, template_id, group, event_type, description in (
        BadgeRequirement.objects.filter(template_id__in=list(requirements)).order_by("group", "id")
        .values_list("id", "template_id", "group", "event_type", "description")
    ):
        requirements[template_id].append((rid, group, event_type, description))
    return tuple(
        ShownTemplate(
            uuid=str(uuid),
            fields={"uuid": str(uuid), "name": name, "description": description, "image": icon, "provider": origin,
                    "dashboard_url": links.template_dashboard(origin, organization, uuid)},
            requirements=tuple(requirements[pk]),
        )
        for pk, uuid, name, description, icon, origin, organization in rows
    )


def forget() -> None:
    """Drop the catalogue (tests: a rolled-back transaction can reuse a version number)."""
    global _current
    _current = None
