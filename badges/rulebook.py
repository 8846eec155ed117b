"""The active configuration per event type, read from the database in two queries and cached per process.

Every event costs one cheap query, :meth:`RulebookVersion.current`; the cache is dropped when
that token changed. A new random token is set by ``save()``/``delete()`` of every configuration
model (templates, requirements, rules, penalties) and explicitly by admin bulk deletes and bulk
loaders, so an admin change takes effect on the next event of every process.
"""
from __future__ import annotations

import threading
from collections import defaultdict
from types import MappingProxyType

from django.db.models import Q

from badges.issuing import KINDS
from badges.models import BadgePenalty, BadgeRequirement, RulebookVersion
from badges.rules import PenaltySpec, RequirementSpec, Rule, Rulebook, TemplateSpec

_lock = threading.Lock()
_cache: dict[str, Rulebook] = {}
_cached_version: str | None = None


def current_rulebook(event_type: str) -> Rulebook:
    """The rulebook for ``event_type`` as of now: one query when cached, three when (re)loaded."""
    global _cached_version
    version = RulebookVersion.current()
    with _lock:
        if version != _cached_version:
            _cache.clear()
            _cached_version = version
        rulebook = _cache.get(event_type)
    if rulebook is None:
        rulebook = load_rulebook(event_type, version)
        with _lock:
            if _cached_version == version:
                _cache[event_type] = rulebook
    return rulebook


def clear_cache() -> None:
    """Forget every cached rulebook (tests; the token check makes it unnecessary in production)."""
    global _cached_version
    with _lock:
        _cache.clear()
        _cached_version = None


def load_rulebook(event_type: str, version: str) -> Rulebook:
    """Requirements and penalties of active templates for ``event_type``, with their rules.

    Two queries: requirements joined to their template and rules (one row per rule), and
    penalties joined to their rules and linked requirements. Completion needs every group of a
    template, so the first query reads all requirements (of any event type) of each active
    template that has a requirement or a penalty for this event type.
    """
    relevant = (
        Q(template_id__in=BadgeRequirement.objects.filter(event_type=event_type).values("template_id"))
        | Q(template_id__in=BadgePenalty.objects.filter(event_type=event_type).values("template_id"))
    )
    requirement_rows = (
        BadgeRequirement.objects
        .filter(relevant, template__is_active=True)
        .values_list(
            "id", "group", "event_type", "template_id", "template__uuid", "template__origin", "template__name",
            "template__description", "template__icon", "rules__data_path", "rules__operator", "rules__value",
        )
        .order_by("id", "rules__id")
    )
    groups: dict[int, dict[int, str]] = defaultdict(dict)
    template_fields: dict[int, tuple] = {}
    requirement_rules: dict[int, list[Rule]] = defaultdict(list)
    requirement_of: dict[int, tuple[int, str]] = {}
    for (rid, group, req_event_type, tid, uuid, origin, name, description, icon,
         path, operator, value) in requirement_rows:
        groups[tid][rid] = group
        template_fields[tid] = (str(uuid), origin, name, description, icon)
        if req_event_type != event_type:
            continue
        requirement_of[rid] = (tid, group)
        if path is not None:
            requirement_rules[rid].append(Rule.of(path, operator, value))

    penalty_rows = (
        BadgePenalty.objects
        .filter(event_type=event_type, template__is_active=True)
        .values_list("id", "template_id", "rules__data_path", "rules__operator", "rules__value",
                     "requirements__id")
        .order_by("id")
    )
    penalty_template: dict[int, int] = {}
    penalty_rules: dict[int, dict[Rule, None]] = defaultdict(dict)
    penalty_requirements: dict[int, set[int]] = defaultdict(set)
    for pid, tid, path, operator, value, rid in penalty_rows:
        penalty_template[pid] = tid
        if path is not None:
            penalty_rules[pid][Rule.of(path, operator, value)] = None
        if rid is not None:
            penalty_requirements[pid].add(rid)

    content_types = {origin: kind.template_content_type_id() for origin, kind in KINDS.items()}
    templates = [
        TemplateSpec(tid, uuid, origin, name, description, icon, MappingProxyType(groups[tid]), content_types[origin])
        for tid, (uuid, origin, name, description, icon) in template_fields.items()
    ]
    requirements = [
        RequirementSpec(rid, tid, group, tuple(requirement_rules[rid]))
        for rid, (tid, group) in requirement_of.items()
    ]
    penalties = [
        PenaltySpec(pid, tid, frozenset(penalty_requirements[pid]), tuple(penalty_rules[pid]))
        for pid, tid in penalty_template.items()
        if tid in template_fields
    ]
    return Rulebook.build(event_type, version, templates, requirements, penalties)
