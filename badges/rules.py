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

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
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


def _lookup_key(actual: Any) -> tuple[str, Any]:
    """How a present payload value is looked up: booleans by truth, anything else by its text."""
    return ("bool", actual) if isinstance(actual, bool) else ("text", str(actual))


def _rule_keys(rule: Rule) -> list[tuple[str, Any]]:
    """The lookup keys of the payload values a rule's text equals (see :func:`value_equals`)."""
    truth = parse_bool(rule.value)
    return [("text", rule.value)] + ([("bool", truth)] if truth is not None else [])


@dataclass(frozen=True)
class _Complement:
    """``ne`` items of one path and lookup kind, grouped by the value they exclude.

    Each group is a contiguous slice, so the items whose rule holds for a value (every group but
    that value's) are two slices: taken at C speed, never tested one by one.
    """

    items: tuple[Any, ...]
    spans: Mapping[Any, tuple[int, int]]

    @classmethod
    def build(cls, groups: Mapping[Any, list[Any]]) -> _Complement:
        items: list[Any] = []
        spans = {}
        for key, members in groups.items():
            spans[key] = (len(items), len(items) + len(members))
            items.extend(members)
        return cls(tuple(items), MappingProxyType(spans))

    def without(self, key: Any) -> tuple[Any, ...]:
        start, end = self.spans.get(key, (0, 0))
        return self.items[:start] + self.items[end:]


def _key_rule(rules: Sequence[Rule], ne_popularity: Mapping[tuple[tuple[str, ...], str], int]) -> Rule | None:
    """The rule an item is indexed by: an ``eq`` on a text value (fewest candidates), else an ``eq``
    on a boolean, else the ``ne`` rule whose excluded value most items share (for an event that
    carries that value, the whole group drops out at once)."""
    eq_rules = [rule for rule in rules if rule.operator == EQ]
    if eq_rules:
        return min(eq_rules, key=lambda rule: parse_bool(rule.value) is not None)
    ne_rules = [rule for rule in rules if rule.operator == NE]
    return max(ne_rules, key=lambda rule: ne_popularity[rule.path, rule.value], default=None)


@dataclass(frozen=True)
class _RuleIndex:
    """Requirements (or penalties) indexed by one rule each, so an event examines only items whose
    key rule holds, whatever the rule shape:

    - an ``eq`` rule files the item under the (path, value) it equals, by text and, for a boolean
      spelling, by truth too;
    - a ``ne`` rule files it in the path's complement, grouped by the value it excludes;
    - an item without rules matches every event: it is kept in ``always``.

    Looking up a payload costs one dictionary read per indexed path plus the candidates returned,
    none of them a rule known not to hold, so it does not grow with the number of templates.
    """

    paths: tuple[tuple[str, ...], ...]
    equal: Mapping[tuple[tuple[str, ...], str, Any], tuple[Any, ...]]
    unequal: Mapping[tuple[tuple[str, ...], str], _Complement]
    always: tuple[Any, ...]

    @classmethod
    def build(cls, items: Iterable[RequirementSpec | PenaltySpec]) -> _RuleIndex:
        items = list(items)
        ne_popularity: dict[tuple[tuple[str, ...], str], int] = defaultdict(int)
        for item in items:
            for rule in item.rules:
                if rule.operator == NE:
                    ne_popularity[rule.path, rule.value] += 1
        equal: dict[tuple[tuple[str, ...], str, Any], list[Any]] = defaultdict(list)
        unequal: dict[tuple[tuple[str, ...], str], dict[Any, list[Any]]] = defaultdict(lambda: defaultdict(list))
        always = []
        for item in items:
            rule = _key_rule(item.rules, ne_popularity)
            if rule is None:
                always.append(item)
                continue
            truth = parse_bool(rule.value)
            if rule.operator == EQ:
                for kind, key in _rule_keys(rule):
                    equal[rule.path, kind, key].append(item)
            else:
                unequal[rule.path, "text"][rule.value].append(item)
                unequal[rule.path, "bool"][truth].append(item)
        paths = [path for path, _kind, _key in equal] + [path for path, _kind in unequal]
        return cls(
            paths=tuple(dict.fromkeys(paths)),
            equal=MappingProxyType({key: tuple(members) for key, members in equal.items()}),
            unequal=MappingProxyType({key: _Complement.build(groups) for key, groups in unequal.items()}),
            always=tuple(always),
        )

    def candidates(self, payload: Mapping[str, Any]) -> list[Any]:
        """The items whose key rule holds for ``payload`` (their other rules are still to test)."""
        found = list(self.always)
        for path in self.paths:
            actual = value_at(payload, path)
            if not _comparable(actual):
                continue
            kind, key = _lookup_key(actual)
            found.extend(self.equal.get((path, kind, key), ()))
            complement = self.unequal.get((path, kind))
            if complement is not None:
                found.extend(complement.without(key))
        return found

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
