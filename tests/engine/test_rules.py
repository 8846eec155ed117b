"""Pure matching and completion: no database."""
from __future__ import annotations

import pytest

from badges.rules import (
    FALSE_SPELLINGS,
    TRUE_SPELLINGS,
    EventMatches,
    PenaltySpec,
    RequirementSpec,
    Rule,
    Rulebook,
    TemplateSpec,
    match_event,
    plan_progress,
)

PAYLOAD = {"is_passing": True, "course": {"course_key": "course-v1:X+A+1", "end": None}, "grade": 7}


def rulebook(requirements=(), penalties=(), groups=None) -> Rulebook:
    groups = groups or {r.id: r.group for r in requirements}
    template = TemplateSpec(1, "uuid", "credly", "T", "", "", groups, 1)
    return Rulebook.build("event", 1, [template], requirements, penalties)


def requirement(rid: int, *rules: tuple[str, str, str], group: str = "A") -> RequirementSpec:
    return RequirementSpec(rid, 1, group, tuple(Rule.of(*rule) for rule in rules))


def matched_ids(book: Rulebook, payload=PAYLOAD) -> set[int]:
    return {r.id for r in match_event(book, payload).requirements}


def test_eq_and_ne_on_a_dotted_path():
    book = rulebook([
        requirement(1, ("course.course_key", "eq", "course-v1:X+A+1")),
        requirement(2, ("course.course_key", "eq", "course-v1:X+B+1")),
        requirement(3, ("course.course_key", "ne", "course-v1:X+B+1")),
        requirement(4, ("course.course_key", "ne", "course-v1:X+A+1")),
        requirement(5, ("grade", "eq", "7")),
    ])
    assert matched_ids(book) == {1, 3, 5}


@pytest.mark.parametrize("spelling", TRUE_SPELLINGS)
def test_true_spellings_match_a_true_value(spelling):
    book = rulebook([requirement(1, ("is_passing", "eq", spelling)), requirement(2, ("is_passing", "ne", spelling))])
    assert matched_ids(book) == {1}
    assert matched_ids(book, {**PAYLOAD, "is_passing": False}) == {2}


@pytest.mark.parametrize("spelling", FALSE_SPELLINGS)
def test_false_spellings_match_a_false_value(spelling):
    book = rulebook([requirement(1, ("is_passing", "eq", spelling))])
    assert matched_ids(book, {**PAYLOAD, "is_passing": False}) == {1}
    assert matched_ids(book) == set()


def test_other_words_are_not_booleans():
    book = rulebook([requirement(1, ("is_passing", "eq", "TRUE")), requirement(2, ("is_passing", "eq", "1"))])
    assert matched_ids(book) == set()


def test_a_missing_path_or_null_value_satisfies_no_rule_not_even_ne():
    book = rulebook([
        requirement(1, ("course.nothing", "eq", "x")),
        requirement(2, ("course.nothing", "ne", "x")),
        requirement(3, ("course.end", "ne", "x")),
        requirement(4, ("course.course_key.deeper", "ne", "x")),
        requirement(5, ("course", "ne", "x")),  # not a value but an object
    ])
    assert matched_ids(book) == set()


def test_a_requirement_without_rules_matches_every_event_of_its_type():
    book = rulebook([requirement(1), requirement(2, ("grade", "eq", "8"))])
    assert matched_ids(book) == {1}
    assert matched_ids(book, {}) == {1}


def test_all_rules_of_a_requirement_must_hold():
    book = rulebook([requirement(1, ("grade", "eq", "7"), ("is_passing", "eq", "false"))])
    assert matched_ids(book) == set()


def test_index_finds_the_same_matches_as_testing_every_requirement():
    requirements = [requirement(i, ("course.course_key", "eq", f"course-v1:X+{i}+1")) for i in range(1, 300)]
    requirements.append(requirement(1000, ("course.course_key", "eq", "course-v1:X+A+1"), ("is_passing", "eq", "+")))
    requirements.append(requirement(1001, ("is_passing", "eq", "yes")))  # only a boolean rule: always tested
    book = rulebook(requirements)
    assert matched_ids(book) == {1000, 1001}
    assert matched_ids(book, {**PAYLOAD, "course": {"course_key": "course-v1:X+17+1"}}) == {17, 1001}


def plan(book, matches, fulfilled):
    (change,) = plan_progress(book, matches, {1: fulfilled})
    return change


def test_two_groups_need_both_and_members_of_a_group_are_alternatives():
    a1, a2, b = requirement(1, group="A"), requirement(2, group="A"), requirement(3, group="B")
    book = rulebook([a1, a2, b])
    after_a = plan(book, EventMatches((a1,), ()), set())
    assert after_a.add == {1} and not after_a.complete_after and not after_a.may_award
    after_b = plan(book, EventMatches((b,), ()), {2})
    assert after_b.complete_after and after_b.may_award
    again = plan(book, EventMatches((a1,), ()), {1, 3})
    assert not again.changed and not again.may_award


def test_a_penalty_wins_over_a_requirement_matched_by_the_same_event():
    a, b = requirement(1, group="A"), requirement(2, group="B")
    penalty = PenaltySpec(9, 1, frozenset({1, 2}))
    book = rulebook([a, b], [penalty])
    change = plan(book, EventMatches((a,), (penalty,)), {1, 2})
    assert change.add == frozenset() and change.remove == {1, 2}
    assert change.complete_before and not change.complete_after and change.may_revoke
    nothing = plan(book, EventMatches((a,), (penalty,)), set())
    assert not nothing.changed and not nothing.may_revoke


def test_penalties_match_like_requirements():
    penalty = PenaltySpec(9, 1, frozenset({1}), (Rule.of("is_passing", "eq", "false"),))
    book = rulebook([requirement(1)], [penalty])
    assert match_event(book, {**PAYLOAD, "is_passing": False}).penalties == (penalty,)
    assert match_event(book, PAYLOAD).penalties == ()
