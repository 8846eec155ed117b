"""The active configuration per event type, read from the database and cached per process.

Every event costs one cheap query, :meth:`RulebookVersion.current_state`, except inside
:func:`one_configuration_check`, where the events of a bus batch share one. Every configuration
change sets a new random token and logs, in :class:`RulebookChange`, the token it replaced and the
templates it touched (``save()``/``delete()`` of every configuration model, admin bulk deletes,
the provider sync). When the token changed, a process reads the changes since its own token (one
query), reloads only the templates they name (two queries, whatever their number) and replaces
their entries in each cached rulebook: the work grows with the templates changed, not with the
templates configured. It drops its whole cache instead, and loads each event type's rulebook
again (two queries) on its next event, when the changes do not lead from its token to the current
one (a change it saw inside a transaction that rolled back, a restored database, changes pruned)
or one of them names no templates (account deletes, bulk loaders).
"""
from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType

from django.db import connections, router
from django.db.models import Q

from badges.issuing import KINDS
from badges.models import BadgePenalty, BadgeRequirement, RulebookChange, RulebookVersion
from badges.rules import PenaltySpec, RequirementSpec, Rule, Rulebook, TemplateSpec

logger = logging.getLogger(__name__)

#: A process further behind than this many changes, or whose changes touch more templates, rebuilds.
MAX_CHANGES_FOLLOWED = 200
MAX_TEMPLATES_RELOADED = 500
#: Inside :func:`one_configuration_check`, the version is read again once its last read is this old.
SHARED_CHECK_MAX_AGE_SECONDS = 1.0


@dataclass(frozen=True)
class CachedRulebooks:
    """A process's rulebooks, all as of configuration ``token`` (the ``sequence``-th change)."""

    token: str | None
    sequence: int
    rulebooks: Mapping[str, Rulebook] = field(default_factory=lambda: MappingProxyType({}))


@dataclass
class ReloadCounts:
    """What this process has reloaded so far: the guard tests compare it, debug logging shows it."""

    full_loads: int = 0  # rulebooks loaded whole (first use of an event type, or after a rebuild)
    incremental_updates: int = 0  # refreshes that replaced only the changed templates
    templates_reloaded: int = 0  # template configurations read from the database
    index_entries: int = 0  # requirements and penalties filed into a rule index


@dataclass
class SharedCheck:
    """The configuration check the events inside one :func:`one_configuration_check` share."""

    connection: object = None  # the DB-API connection the version was read on; None: not read yet
    read_at: float = 0.0


_lock = threading.Lock()
_cached = CachedRulebooks(None, 0)
_shared_check: contextvars.ContextVar[SharedCheck | None] = contextvars.ContextVar("badges_shared_check",
                                                                                   default=None)
reload_counts = ReloadCounts()


@contextmanager
def one_configuration_check() -> Iterator[None]:
    """Let the events handled inside share one configuration check instead of one query each.

    The bus consumers handle each batch they read inside this. Every message of a batch was
    published before the batch was read, so judging it by the configuration as of the batch's
    first event is no staler than the bus itself; a configuration saved meanwhile applies from
    the next batch. The version is read again when the database connection changed (the consumer
    reconnects after an outage, and a restored database must be noticed) and once the last read is
    :data:`SHARED_CHECK_MAX_AGE_SECONDS` old, so a slow batch does not keep an old configuration.
    Nested, it is the outer one that counts.
    """
    if _shared_check.get() is not None:
        yield
        return
    reset = _shared_check.set(SharedCheck())
    try:
        yield
    finally:
        _shared_check.reset(reset)


def current_rulebook(event_type: str) -> Rulebook:
    """The rulebook for ``event_type`` as of now: one query when cached, more when refreshed or loaded;
    none for the second and later events inside :func:`one_configuration_check`."""
    global _cached
    cached = _cached
    if not _shared_check_holds(cached):
        cached = _checked(cached)
    rulebook = cached.rulebooks.get(event_type)
    if rulebook is None:
        rulebook = load_rulebook(event_type, cached.token)
        with _lock:
            if _cached.token == cached.token:
                _cached = CachedRulebooks(cached.token, cached.sequence,
                                          MappingProxyType({**_cached.rulebooks, event_type: rulebook}))
    return rulebook


def _shared_check_holds(cached: CachedRulebooks) -> bool:
    """Whether the current shared check already read the version, recently, on the connection in use."""
    shared = _shared_check.get()
    return (shared is not None and shared.connection is not None and cached.token is not None
            and shared.connection is _version_connection().connection
            and time.monotonic() - shared.read_at < SHARED_CHECK_MAX_AGE_SECONDS)


def _version_connection():
    return connections[router.db_for_read(RulebookVersion)]


def _checked(cached: CachedRulebooks) -> CachedRulebooks:
    """``cached``, or the rulebooks brought to the configuration version just read (one query)."""
    global _cached
    token, sequence = RulebookVersion.current_state()
    shared = _shared_check.get()
    if shared is not None:
        shared.connection, shared.read_at = _version_connection().connection, time.monotonic()
    if cached.token != token:
        refreshed = _refreshed(cached, token, sequence)
        with _lock:
            if _cached is cached:
                _cached = refreshed
        cached = refreshed
    return cached


def clear_cache() -> None:
    """Forget every cached rulebook (tests; the token check makes it unnecessary in production)."""
    global _cached
    with _lock:
        _cached = CachedRulebooks(None, 0)


def _refreshed(cached: CachedRulebooks, token: str, sequence: int) -> CachedRulebooks:
    """``cached`` brought to ``token``: by the logged changes when they lead there, else emptied."""
    if cached.token is None or not cached.rulebooks:
        return CachedRulebooks(token, sequence)
    followed = changes_since(cached.token, cached.sequence, token)
    if followed is None:
        logger.debug("rulebook cache rebuilt: no usable change log from %s to %s", cached.token, token)
        return CachedRulebooks(token, sequence)
    end_token, end_sequence, template_ids = followed
    return CachedRulebooks(end_token, end_sequence, MappingProxyType(reload_templates(cached.rulebooks, end_token,
                                                                                      template_ids)))


def changes_since(token: str, sequence: int, target: str) -> tuple[str, int, frozenset[int]] | None:
    """Follow the logged changes from ``token`` (the ``sequence``-th) through ``target``: one query.

    Returns the last token reached (changes committed since ``target`` was read are followed too),
    its sequence and the templates touched on the way; None when the chain does not reach ``target``,
    a change names no templates, or there is too much to follow.
    """
    rows = list(
        RulebookChange.objects.filter(sequence__gt=sequence)
        .order_by("sequence", "id")
        .values_list("previous_token", "token", "sequence", "template_ids")[:MAX_CHANGES_FOLLOWED + 1]
    )
    if len(rows) > MAX_CHANGES_FOLLOWED:
        return None
    touched: set[int] = set()
    reached = False
    for previous, next_token, next_sequence, template_ids in rows:
        if previous != token:
            continue  # a change of another history (the database was restored before it was made)
        if template_ids is None:
            return None
        token, sequence = next_token, next_sequence
        touched.update(template_ids)
        reached = reached or token == target
    if not reached or len(touched) > MAX_TEMPLATES_RELOADED:
        return None
    return token, sequence, frozenset(touched)


def reload_templates(rulebooks: Mapping[str, Rulebook], version: str,
                     template_ids: Collection[int]) -> dict[str, Rulebook]:
    """``rulebooks`` with the entries of ``template_ids`` read again: two queries for all event types."""
    configurations = read_templates(Q(template_id__in=template_ids), Q(template_id__in=template_ids))
    refreshed = {}
    for event_type, rulebook in rulebooks.items():
        templates, requirements, penalties = for_event_type(configurations, event_type)
        refreshed[event_type] = rulebook.replaced(version, template_ids, templates, requirements, penalties)
        _count(templates=0, entries=len(requirements) + len(penalties))
    _count(templates=len(template_ids), entries=0, incremental=1)
    logger.debug("rulebook cache updated to %s: %d template(s) reloaded", version, len(template_ids))
    return refreshed


def load_rulebook(event_type: str, version: str) -> Rulebook:
    """Requirements and penalties of active templates for ``event_type``, with their rules: two queries.

    Completion needs every group of a template, so all requirements (of any event type) of each
    active template that has a requirement or a penalty for this event type are read.
    """
    relevant = (
        Q(template_id__in=BadgeRequirement.objects.filter(event_type=event_type).values("template_id"))
        | Q(template_id__in=BadgePenalty.objects.filter(event_type=event_type).values("template_id"))
    )
    configurations = read_templates(relevant, Q(event_type=event_type))
    templates, requirements, penalties = for_event_type(configurations, event_type)
    _count(templates=len(configurations), entries=len(requirements) + len(penalties), full=1)
    return Rulebook.build(event_type, version, templates, requirements, penalties)


@dataclass(frozen=True)
class TemplateConfiguration:
    """One active template with its requirements and penalties of every event type read."""

    spec: TemplateSpec
    requirements: Mapping[str, list[RequirementSpec]]
    penalties: Mapping[str, list[PenaltySpec]]


def read_templates(requirement_filter: Q, penalty_filter: Q) -> dict[int, TemplateConfiguration]:
    """Active templates with a requirement matching ``requirement_filter``, with all their requirements
    and those of their penalties that match ``penalty_filter``: two queries.

    The first reads requirements joined to their template and rules (one row per rule), the second
    penalties joined to their rules and linked requirements. A template without requirements is
    left out (it cannot be completed, and a penalty alone has nothing to take back).
    """
    requirement_rows = (
        BadgeRequirement.objects
        .filter(requirement_filter, template__is_active=True)
        .values_list(
            "id", "group", "event_type", "template_id", "template__uuid", "template__origin", "template__name",
            "template__description", "template__icon", "rules__data_path", "rules__operator", "rules__value",
        )
        .order_by("id", "rules__id")
    )
    groups: dict[int, dict[int, str]] = defaultdict(dict)
    template_fields: dict[int, tuple] = {}
    requirement_rules: dict[int, list[Rule]] = defaultdict(list)
    requirement_of: dict[int, tuple[int, str, str]] = {}
    for (rid, group, event_type, tid, uuid, origin, name, description, icon,
         path, operator, value) in requirement_rows:
        groups[tid][rid] = group
        template_fields[tid] = (str(uuid), origin, name, description, icon)
        requirement_of[rid] = (tid, group, event_type)
        if path is not None:
            requirement_rules[rid].append(Rule.of(path, operator, value))

    penalty_rows = (
        BadgePenalty.objects
        .filter(penalty_filter, template__is_active=True)
        .values_list("id", "event_type", "template_id", "rules__data_path", "rules__operator", "rules__value",
                     "requirements__id")
        .order_by("id", "rules__id")
    )
    penalty_of: dict[int, tuple[int, str]] = {}
    penalty_rules: dict[int, dict[Rule, None]] = defaultdict(dict)
    penalty_requirements: dict[int, set[int]] = defaultdict(set)
    for pid, event_type, tid, path, operator, value, rid in penalty_rows:
        penalty_of[pid] = (tid, event_type)
        if path is not None:
            penalty_rules[pid][Rule.of(path, operator, value)] = None
        if rid is not None:
            penalty_requirements[pid].add(rid)

    content_types = {origin: kind.template_content_type_id() for origin, kind in KINDS.items()}
    requirements: dict[int, dict[str, list[RequirementSpec]]] = defaultdict(lambda: defaultdict(list))
    for rid, (tid, group, event_type) in requirement_of.items():
        requirements[tid][event_type].append(RequirementSpec(rid, tid, group, tuple(requirement_rules[rid])))
    penalties: dict[int, dict[str, list[PenaltySpec]]] = defaultdict(lambda: defaultdict(list))
    for pid, (tid, event_type) in penalty_of.items():
        penalties[tid][event_type].append(
            PenaltySpec(pid, tid, frozenset(penalty_requirements[pid]), tuple(penalty_rules[pid]))
        )
    return {
        tid: TemplateConfiguration(
            TemplateSpec(tid, uuid, origin, name, description, icon, MappingProxyType(groups[tid]),
                         content_types[origin]),
            requirements[tid], penalties.get(tid, {}),
        )
        for tid, (uuid, origin, name, description, icon) in template_fields.items()
    }


def for_event_type(configurations: Mapping[int, TemplateConfiguration], event_type: str
                   ) -> tuple[list[TemplateSpec], list[RequirementSpec], list[PenaltySpec]]:
    """The templates concerned by ``event_type`` and their requirements and penalties of that type."""
    templates, requirements, penalties = [], [], []
    for configuration in configurations.values():
        own_requirements = configuration.requirements.get(event_type, [])
        own_penalties = configuration.penalties.get(event_type, [])
        if own_requirements or own_penalties:
            templates.append(configuration.spec)
            requirements.extend(own_requirements)
            penalties.extend(own_penalties)
    return templates, requirements, penalties


def _count(*, templates: int, entries: int, full: int = 0, incremental: int = 0) -> None:
    with _lock:
        reload_counts.full_loads += full
        reload_counts.incremental_updates += incremental
        reload_counts.templates_reloaded += templates
        reload_counts.index_entries += entries
