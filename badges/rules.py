"""Pure rule logic: no ORM, no Django. Matching payloads and deciding completion.

Group completion: requirements sharing a group letter are alternatives (OR); every group
must have at least one fulfilled requirement (AND).

Data rules compare the value at a dotted key path of the event payload with a text value:

- ``eq`` holds when the value equals the rule's text; ``ne`` when it does not.
- A boolean payload value equals a rule spelled as one of :data:`TRUE_SPELLINGS` /
  :data:`FALSE_SPELLINGS` of the same truth; any other value compares as text (``str(value)``).
- A path that is missing from the payload, or whose value is null, has no value to compare:
  **no rule holds on it, neither eq nor ne**. The absence of data never fulfils a requirement
  or triggers a penalty (a ``ne`` rule means "present and different").
- A requirement or penalty without rules matches every event of its type.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

#: The only spellings a data rule may use for a boolean payload value (admin and engine share them).
TRUE_SPELLINGS = ("true", "True", "yes", "Yes", "+")
FALSE_SPELLINGS = ("false", "False", "no", "No", "-")


def parse_bool(text: str) -> bool | None:
    """The boolean a rule value spells, or None when it is not one of the documented spellings."""
    if text in TRUE_SPELLINGS:
        return True
    if text in FALSE_SPELLINGS:
        return False
    return None


@dataclass(frozen=True)
class ProgressSummary:
    fulfilled_groups: frozenset[str]
    groups: frozenset[str]

    @property
    def complete(self) -> bool:
        return bool(self.groups) and self.fulfilled_groups >= self.groups

    @property
    def ratio(self) -> float:
        return len(self.fulfilled_groups & self.groups) / len(self.groups) if self.groups else 0.0


def summarize_progress(requirement_groups: Mapping[int, str], fulfilled: Iterable[int]) -> ProgressSummary:
    """Summarize progress for one template.

    ``requirement_groups`` maps each of the template's requirement ids to its group letter;
    ``fulfilled`` holds the ids of the learner's fulfilled requirements.
    """
    groups = frozenset(requirement_groups.values())
    done = frozenset(requirement_groups[r] for r in fulfilled if r in requirement_groups)
    return ProgressSummary(fulfilled_groups=done, groups=groups)


EQ = "eq"
NE = "ne"
_MISSING = object()


def value_at(payload: Mapping[str, Any], path: Sequence[str]) -> Any:
    """The value at ``path`` below ``payload``, or ``_MISSING`` when some key is absent."""
    value: Any = payload
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return _MISSING
        value = value[key]
    return value


def _comparable(value: Any) -> bool:
    return value is not _MISSING and value is not None and not isinstance(value, Mapping | list | tuple)


def value_equals(value: Any, expected: str) -> bool:
    """Whether a present payload value equals a rule's text (booleans by their spellings)."""
    if isinstance(value, bool):
        return parse_bool(expected) is value
    return str(value) == expected


@dataclass(frozen=True)
class Rule:
    path: tuple[str, ...]
    operator: str
    value: str

    @classmethod
    def of(cls, data_path: str, operator: str, value: str) -> Rule:
        return cls(tuple(data_path.split(".")), operator, value)

    def holds(self, payload: Mapping[str, Any]) -> bool:
        actual = value_at(payload, self.path)
        if not _comparable(actual):
            return False
        equal = value_equals(actual, self.value)
        return equal if self.operator == EQ else not equal


def all_hold(rules: Iterable[Rule], payload: Mapping[str, Any]) -> bool:
    return all(rule.holds(payload) for rule in rules)


@dataclass(frozen=True)
class RequirementSpec:
    id: int
    template_id: int
    group: str
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class PenaltySpec:
    id: int
    template_id: int
    requirement_ids: frozenset[int]
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class TemplateSpec:
    """What the engine needs about an active template without a query (BadgeData included)."""

    id: int
    uuid: str
    origin: str
    name: str
    description: str
    image_url: str
    requirement_groups: Mapping[int, str]
    content_type_id: int  # of the template's provider model: badge records point at it


def _index_rule(rules: Sequence[Rule]) -> Rule | None:
    """An ``eq`` rule usable as an index key: its value cannot equal a boolean payload value."""
    return next((r for r in rules if r.operator == EQ and parse_bool(r.value) is None), None)


@dataclass(frozen=True)
class _RuleIndex:
    """Requirements (or penalties) keyed by one of their ``eq`` rules, so an event looks up only
    the few that can match instead of testing every one; those without such a rule are always tested.
    """

    paths: tuple[tuple[str, ...], ...]
    by_value: Mapping[tuple[tuple[str, ...], str], tuple[Any, ...]]
    always: tuple[Any, ...]

    @classmethod
    def build(cls, items: Iterable[RequirementSpec | PenaltySpec]) -> _RuleIndex:
        by_value: dict[tuple[tuple[str, ...], str], list[Any]] = {}
        always = []
        for item in items:
            key_rule = _index_rule(item.rules)
            if key_rule is None:
                always.append(item)
            else:
                by_value.setdefault((key_rule.path, key_rule.value), []).append(item)
        return cls(
            paths=tuple(dict.fromkeys(path for path, _value in by_value)),
            by_value=MappingProxyType({key: tuple(items) for key, items in by_value.items()}),
            always=tuple(always),
        )

    def candidates(self, payload: Mapping[str, Any]) -> Iterator[Any]:
        yield from self.always
        for path in self.paths:
            actual = value_at(payload, path)
            if _comparable(actual) and not isinstance(actual, bool):
                yield from self.by_value.get((path, str(actual)), ())

    def matching(self, payload: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(item for item in self.candidates(payload) if all_hold(item.rules, payload))


@dataclass(frozen=True)
class Rulebook:
    """The active configuration for one event type: immutable, shared by every event of the process."""

    event_type: str
    version: str  # the configuration token it was built from
    templates: Mapping[int, TemplateSpec]
    requirements: _RuleIndex = field(repr=False)
    penalties: _RuleIndex = field(repr=False)

    @classmethod
    def build(cls, event_type: str, version: str, templates: Iterable[TemplateSpec],
              requirements: Iterable[RequirementSpec], penalties: Iterable[PenaltySpec]) -> Rulebook:
        return cls(
            event_type=event_type,
            version=version,
            templates=MappingProxyType({template.id: template for template in templates}),
            requirements=_RuleIndex.build(requirements),
            penalties=_RuleIndex.build(penalties),
        )


@dataclass(frozen=True)
class EventMatches:
    """The requirements and penalties one event's payload satisfies."""

    requirements: tuple[RequirementSpec, ...]
    penalties: tuple[PenaltySpec, ...]

    def __bool__(self) -> bool:
        return bool(self.requirements or self.penalties)

    @property
    def template_ids(self) -> frozenset[int]:
        return frozenset(item.template_id for item in (*self.requirements, *self.penalties))


def match_event(rulebook: Rulebook, payload: Mapping[str, Any]) -> EventMatches:
    """Which of the rulebook's requirements and penalties ``payload`` satisfies."""
    return EventMatches(rulebook.requirements.matching(payload), rulebook.penalties.matching(payload))


@dataclass(frozen=True)
class ProgressChange:
    """What one event does to one learner's progress on one template."""

    template_id: int
    add: frozenset[int]
    remove: frozenset[int]
    complete_before: bool
    complete_after: bool

    @property
    def changed(self) -> bool:
        return bool(self.add or self.remove)

    @property
    def may_award(self) -> bool:
        """Completed by this event's change: award unless the learner already has a badge record."""
        return self.complete_after and bool(self.add)

    @property
    def may_revoke(self) -> bool:
        """Made incomplete by a penalty: revoke if the learner's badge is awarded."""
        return self.complete_before and not self.complete_after


def plan_progress(rulebook: Rulebook, matches: EventMatches,
                  fulfilled: Mapping[int, Iterable[int]]) -> list[ProgressChange]:
    """The change to each touched template, given the learner's fulfilled requirement ids per template.

    A penalty wins over a requirement the same event matches: the penalty's requirements end up
    unfulfilled (an event saying "not passing" must not also count as passing).
    """
    changes = []
    for template_id in sorted(matches.template_ids):
        groups = rulebook.templates[template_id].requirement_groups
        before = frozenset(fulfilled.get(template_id, ()))
        reset = frozenset(
            rid for penalty in matches.penalties if penalty.template_id == template_id
            for rid in penalty.requirement_ids
        )
        matched = frozenset(r.id for r in matches.requirements if r.template_id == template_id)
        add = matched - reset - before
        after = (before - reset) | add
        changes.append(ProgressChange(
            template_id=template_id,
            add=add,
            remove=before & reset,
            complete_before=summarize_progress(groups, before).complete,
            complete_after=summarize_progress(groups, after).complete,
        ))
    return changes
