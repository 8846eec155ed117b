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
from collections.abc import Collection, Iterable, Mapping, Sequence
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
    groups: Mapping[Any, tuple[Any, ...]]

    @classmethod
    def build(cls, groups: Mapping[Any, Sequence[Any]]) -> _Complement:
        items: list[Any] = []
        spans = {}
        for key, members in groups.items():
            spans[key] = (len(items), len(items) + len(members))
            items.extend(members)
        return cls(tuple(items), MappingProxyType(spans),
                   MappingProxyType({key: tuple(members) for key, members in groups.items()}))

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
    return max(ne_rules, key=lambda rule: ne_popularity.get((rule.path, rule.value), 0), default=None)


#: Where an item is filed: ("always",), ("equal", (path, kind, key)) or ("unequal", (path, kind), excluded).
_Slot = tuple[Any, ...]
_ALWAYS: _Slot = ("always",)


def _slots(rule: Rule | None) -> tuple[_Slot, ...]:
    """The places an item keyed by ``rule`` is filed in (see :class:`_RuleIndex`)."""
    if rule is None:
        return (_ALWAYS,)
    if rule.operator == EQ:
        return tuple(("equal", (rule.path, kind, key)) for kind, key in _rule_keys(rule))
    return (("unequal", (rule.path, "text"), rule.value), ("unequal", (rule.path, "bool"), parse_bool(rule.value)))


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

    ``filed`` remembers where each template's items are, so :meth:`replaced` swaps one template's
    items by touching only those places: a configuration change costs the same at any number of
    templates (plus C-speed copies of the top-level maps; the index itself is never mutated, as
    events of other threads may be reading it).
    """

    paths: tuple[tuple[str, ...], ...]
    equal: Mapping[tuple[tuple[str, ...], str, Any], tuple[Any, ...]]
    unequal: Mapping[tuple[tuple[str, ...], str], _Complement]
    always: tuple[Any, ...]
    filed: Mapping[int, tuple[_Slot, ...]] = field(repr=False)
    ne_popularity: Mapping[tuple[tuple[str, ...], str], int] = field(repr=False)
    path_keys: Mapping[tuple[str, ...], int] = field(repr=False)  # equal/unequal keys per path

    @classmethod
    def build(cls, items: Iterable[RequirementSpec | PenaltySpec]) -> _RuleIndex:
        return _EMPTY_INDEX.replaced((), items)

    def members(self, slot: _Slot) -> tuple[Any, ...]:
        if slot[0] == "equal":
            return self.equal.get(slot[1], ())
        if slot[0] == "unequal":
            complement = self.unequal.get(slot[1])
            return complement.groups.get(slot[2], ()) if complement is not None else ()
        return self.always

    def items(self) -> frozenset[Any]:
        """Every item filed (each once)."""
        slots = {slot for template_slots in self.filed.values() for slot in template_slots}
        return frozenset(item for slot in slots for item in self.members(slot))

    def replaced(self, template_ids: Collection[int],
                 items: Iterable[RequirementSpec | PenaltySpec]) -> _RuleIndex:
        """A new index without the items of ``template_ids`` and with ``items`` (of those templates) added.

        Work done: the places the removed and added items are filed in, not the whole index.
        """
        items = list(items)
        removing = frozenset(template_ids)
        touched = {slot for tid in removing for slot in self.filed.get(tid, ())}
        popularity = self.ne_popularity.copy()
        removed = {item.id: item for slot in touched for item in self.members(slot) if item.template_id in removing}
        for item, change in [*((item, -1) for item in removed.values()), *((item, 1) for item in items)]:
            for rule in item.rules:
                if rule.operator == NE:
                    popularity[rule.path, rule.value] = popularity.get((rule.path, rule.value), 0) + change
                    if not popularity[rule.path, rule.value]:
                        del popularity[rule.path, rule.value]
        added: dict[_Slot, list[Any]] = defaultdict(list)
        filed_now: dict[int, dict[_Slot, None]] = defaultdict(dict)
        for item in items:
            for slot in _slots(_key_rule(item.rules, popularity)):
                added[slot].append(item)
                filed_now[item.template_id][slot] = None
        filed = self.filed.copy()
        for tid in removing:
            filed.pop(tid, None)
        filed.update({tid: tuple(slots) for tid, slots in filed_now.items()})

        equal, unequal, always = self.equal.copy(), self.unequal.copy(), self.always
        path_keys = self.path_keys.copy()
        complements: dict[tuple[tuple[str, ...], str], dict[Any, tuple[Any, ...]]] = {}
        for slot in touched | added.keys():
            members = tuple(item for item in self.members(slot) if item.template_id not in removing)
            members += tuple(added.get(slot, ()))
            if slot[0] == "always":
                always = members
            elif slot[0] == "equal":
                _update_key(equal, path_keys, slot[1], members)
            else:
                if slot[1] not in complements:
                    complement = self.unequal.get(slot[1])
                    complements[slot[1]] = complement.groups.copy() if complement is not None else {}
                if members:
                    complements[slot[1]][slot[2]] = members
                else:
                    complements[slot[1]].pop(slot[2], None)
        for key, groups in complements.items():
            _update_key(unequal, path_keys, key, _Complement.build(groups) if groups else None)
        return _RuleIndex(
            paths=tuple(path_keys),
            equal=MappingProxyType(equal),
            unequal=MappingProxyType(unequal),
            always=always,
            filed=MappingProxyType(filed),
            ne_popularity=MappingProxyType(popularity),
            path_keys=MappingProxyType(path_keys),
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


def _update_key(index: dict[Any, Any], path_keys: dict[tuple[str, ...], int], key: tuple[Any, ...],
                value: Any) -> None:
    """Set (a non-empty ``value``) or drop ``key`` of ``index``, counting the keys of its path (``key[0]``)."""
    existed = key in index
    if value:
        index[key] = value
        if not existed:
            path_keys[key[0]] = path_keys.get(key[0], 0) + 1
    elif existed:
        del index[key]
        path_keys[key[0]] -= 1
        if not path_keys[key[0]]:
            del path_keys[key[0]]


_EMPTY_INDEX = _RuleIndex(paths=(), equal=MappingProxyType({}), unequal=MappingProxyType({}), always=(),
                          filed=MappingProxyType({}), ne_popularity=MappingProxyType({}),
                          path_keys=MappingProxyType({}))


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

    def replaced(self, version: str, template_ids: Collection[int], templates: Iterable[TemplateSpec],
                 requirements: Iterable[RequirementSpec], penalties: Iterable[PenaltySpec]) -> Rulebook:
        """This rulebook with the templates ``template_ids`` replaced by ``templates`` and their items.

        ``templates`` (and the items) hold those of ``template_ids`` that are active and concern
        this event type now; the others are dropped.
        """
        kept = self.templates.copy()
        for tid in template_ids:
            kept.pop(tid, None)
        kept.update((template.id, template) for template in templates)
        return Rulebook(
            event_type=self.event_type,
            version=version,
            templates=MappingProxyType(kept),
            requirements=self.requirements.replaced(template_ids, requirements),
            penalties=self.penalties.replaced(template_ids, penalties),
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
