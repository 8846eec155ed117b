"""The rule index: every rule shape finds exactly what testing every rule finds, and the number of
candidates an event examines does not grow with the number of templates. Pure: no database."""
from __future__ import annotations

import itertools
import random

import pytest

from badges.rules import (
    FALSE_SPELLINGS,
    TRUE_SPELLINGS,
    PenaltySpec,
    RequirementSpec,
    Rule,
    Rulebook,
    TemplateSpec,
    all_hold,
    match_event,
)

PATHS = ("is_passing", "course.course_key", "grade.letter", "course.org")
VALUES = ("A", "B", "course-v1:X+1+1", "1", "0", "", *TRUE_SPELLINGS, *FALSE_SPELLINGS)
PAYLOAD_VALUES = (True, False, None, 1, 0, "A", "B", "true", "True", "no", "", "course-v1:X+1+1", {"nested": 1}, [1])


def random_rules(rng: random.Random) -> tuple[Rule, ...]:
    return tuple(Rule.of(rng.choice(PATHS), rng.choice(("eq", "ne")), rng.choice(VALUES))
                 for _ in range(rng.choice((0, 1, 1, 2, 3))))


def random_payload(rng: random.Random) -> dict:
    payload: dict = {"course": {}, "grade": {}}
    for path in PATHS:
        if rng.random() < 0.85:
            *parents, leaf = path.split(".")
            target = payload
            for parent in parents:
                target = target[parent]
            target[leaf] = rng.choice(PAYLOAD_VALUES)
    return payload


def build(requirements=(), penalties=()) -> Rulebook:
    templates = {item.template_id for item in (*requirements, *penalties)}
    specs = [TemplateSpec(t, f"uuid-{t}", "credly", "T", "", "",
                          {r.id: r.group for r in requirements if r.template_id == t}, 1) for t in templates]
    return Rulebook.build("event", "v", specs, requirements, penalties)


def test_every_rule_shape_matches_exactly_what_testing_every_rule_matches():
    rng = random.Random(7)
    for _round in range(200):
        requirements = [RequirementSpec(i, i % 7, "A", random_rules(rng)) for i in range(rng.randrange(1, 40))]
        penalties = [PenaltySpec(i, i % 7, frozenset(), random_rules(rng)) for i in range(rng.randrange(0, 10))]
        book = build(requirements, penalties)
        for _event in range(30):
            payload = random_payload(rng)
            matches = match_event(book, payload)
            assert sorted(r.id for r in matches.requirements) == sorted(
                r.id for r in requirements if all_hold(r.rules, payload)), (requirements, payload)
            assert sorted(p.id for p in matches.penalties) == sorted(
                p.id for p in penalties if all_hold(p.rules, payload)), (penalties, payload)
            assert len(matches.requirements) == len({r.id for r in matches.requirements})  # each item once


@pytest.mark.parametrize(("rule", "payload", "matched"), [
    (("is_passing", "eq", "yes"), {"is_passing": True}, True),
    (("is_passing", "eq", "yes"), {"is_passing": "yes"}, True),
    (("is_passing", "eq", "yes"), {"is_passing": "true"}, False),
    (("is_passing", "ne", "true"), {"is_passing": True}, False),
    (("is_passing", "ne", "true"), {"is_passing": "True"}, True),
    (("is_passing", "ne", "No"), {"is_passing": True}, True),
    (("is_passing", "ne", "No"), {"is_passing": False}, False),
    (("is_passing", "ne", "maybe"), {"is_passing": False}, True),
    (("is_passing", "ne", "maybe"), {"is_passing": None}, False),
    (("is_passing", "ne", "maybe"), {}, False),
    (("grade", "ne", "1"), {"grade": 1}, False),
    (("grade", "eq", "1"), {"grade": 1}, True),
    (("grade", "ne", "1"), {"grade": {"value": 2}}, False),
])
def test_each_shape_on_booleans_text_and_missing_values(rule, payload, matched):
    book = build([RequirementSpec(1, 1, "A", (Rule.of(*rule),))])
    assert bool(match_event(book, payload).requirements) is matched


def shape_rulebook(shape: str, templates: int) -> Rulebook:
    """T templates whose requirements all have one shape; a passing event on course 0 matches at most one."""
    def rules(i: int) -> tuple[Rule, ...]:
        key = f"course-v1:X+{i}+1"
        return {
            "eq": (Rule.of("course.course_key", "eq", key),),
            "eq boolean": (Rule.of("is_passing", "eq", "false"), Rule.of("course.course_key", "eq", key)),
            "boolean": (Rule.of("is_passing", "eq", "no"), Rule.of("course.course_key", "ne", key)),
            "ne": (Rule.of("is_passing", "ne", "true"), Rule.of("course.course_key", "ne", key)),
            "ne text": (Rule.of("course.org", "ne", "X"), Rule.of("course.course_key", "ne", key)),
            "rule-less": () if i == 0 else (Rule.of("course.course_key", "eq", key),),
        }[shape]
    requirements = [RequirementSpec(i, i, "A", rules(i)) for i in range(templates)]
    penalties = [PenaltySpec(i, i, frozenset({i}), rules(i)) for i in range(templates)]
    return build(requirements, penalties)


SHAPES = ("eq", "eq boolean", "boolean", "ne", "ne text", "rule-less")
EVENT = {"is_passing": True, "course": {"course_key": "course-v1:X+0+1", "org": "X"}}


@pytest.mark.parametrize("shape", SHAPES)
def test_candidates_examined_do_not_grow_with_the_number_of_templates(shape):
    examined = {}
    for templates in (10, 3000):
        book = shape_rulebook(shape, templates)
        examined[templates] = (len(book.requirements.candidates(EVENT)), len(book.penalties.candidates(EVENT)))
        matches = match_event(book, EVENT)
        assert len(matches.requirements) <= 1 and len(matches.penalties) <= 1
    assert examined[10] == examined[3000]
    assert max(examined[3000]) <= 1


def test_an_event_that_meets_many_ne_rules_examines_only_those_it_matches():
    book = shape_rulebook("ne", 500)
    failing = {"is_passing": False, "course": {"course_key": "course-v1:X+0+1"}}
    candidates = book.requirements.candidates(failing)
    matched = match_event(book, failing).requirements
    assert len(matched) == 499  # every template but course 0's: the output itself
    assert len(candidates) == 500  # the one extra fails only its second rule


def test_index_key_prefers_the_most_selective_rule():
    spellings = list(itertools.islice(itertools.cycle(FALSE_SPELLINGS), 50))
    requirements = [RequirementSpec(i, i, "A", (Rule.of("course.course_key", "ne", f"k{i}"),
                                                Rule.of("is_passing", "eq", spellings[i])))
                    for i in range(50)]
    book = build(requirements)
    assert book.requirements.candidates({"is_passing": True, "course": {"course_key": "k3"}}) == []
    assert len(book.requirements.candidates({"is_passing": False, "course": {"course_key": "k3"}})) == 50


def test_replacing_templates_one_by_one_matches_what_building_the_final_items_matches():
    """The incremental path (a configuration change swaps one template's items) against a build."""
    rng = random.Random(11)
    for _round in range(60):
        requirements = {i: RequirementSpec(i, i % 9, "A", random_rules(rng)) for i in range(rng.randrange(1, 40))}
        penalties = {i: PenaltySpec(i, i % 9, frozenset(), random_rules(rng)) for i in range(rng.randrange(0, 12))}
        book = build(list(requirements.values()), list(penalties.values()))
        next_id = 1000
        for _change in range(8):
            template = rng.randrange(11)  # some changes add a template, some remove one entirely
            for items, spec in ((requirements, RequirementSpec), (penalties, PenaltySpec)):
                for key in [key for key, item in items.items() if item.template_id == template]:
                    del items[key]
                for _new in range(rng.choice((0, 1, 2, 3))):
                    next_id += 1
                    extra = "A" if spec is RequirementSpec else frozenset()
                    items[next_id] = spec(next_id, template, extra, random_rules(rng))
            changed = [item for item in (*requirements.values(), *penalties.values()) if item.template_id == template]
            specs = build([r for r in changed if isinstance(r, RequirementSpec)],
                          [p for p in changed if isinstance(p, PenaltySpec)]).templates.values()
            book = book.replaced("v2", {template}, specs,
                                 [r for r in changed if isinstance(r, RequirementSpec)],
                                 [p for p in changed if isinstance(p, PenaltySpec)])
            rebuilt = build(list(requirements.values()), list(penalties.values()))
            assert dict(book.templates) == dict(rebuilt.templates)
            assert book.requirements.items() == rebuilt.requirements.items()
            assert book.penalties.items() == rebuilt.penalties.items()
            for _event in range(20):
                payload = random_payload(rng)
                matches, expected = match_event(book, payload), match_event(rebuilt, payload)
                assert sorted(r.id for r in matches.requirements) == sorted(r.id for r in expected.requirements)
                assert sorted(p.id for p in matches.penalties) == sorted(p.id for p in expected.penalties)
                assert len(matches.requirements) == len({r.id for r in matches.requirements})


def test_replacing_a_template_leaves_no_empty_key_or_path_behind():
    book = build([RequirementSpec(1, 1, "A", (Rule.of("grade.letter", "eq", "A"),)),
                  RequirementSpec(2, 2, "A", (Rule.of("course.org", "ne", "X"),))])
    emptied = book.replaced("v2", {1, 2}, [], [], [])
    assert emptied.requirements.paths == () and not emptied.requirements.equal
    assert not emptied.requirements.unequal and not emptied.requirements.filed
    assert not emptied.templates
