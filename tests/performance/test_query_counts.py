"""Regression guard: SQL queries per event do not grow with the number of templates.

Each scenario sends events through the public signal (as the bus consumer does) at T=1 and at
T=500 active templates and counts every query, issuing included (transactional database, so
the on-commit Celery task runs in-process as in production; Credly is answered by ``responses``).
Counts, not times: they are deterministic.
"""
from __future__ import annotations

import contextlib
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.db.models.sql.compiler import SQLCompiler, SQLDeleteCompiler, SQLInsertCompiler, SQLUpdateCompiler

from badges.models import BadgeProgress, CredlyBadge, Fulfillment
from benchmarks.workload import (
    BenchEvent,
    MeasuredEvent,
    build_rulebook,
    measure_one,
    requirement_course_keys,
    unused_course_key,
    warmup_event,
)

User = get_user_model()

NON_MATCHING_MAX_QUERIES = 2
MATCHING_MAX_QUERIES = 19  # issuing counts its attempt in a transaction of its own before the provider call
WRITE_STATEMENTS = ("INSERT", "UPDATE", "DELETE")

pytestmark = pytest.mark.django_db(transaction=True)


def username(learner: int) -> str:
    return f"bench-learner-{learner}"


def explain(measured: MeasuredEvent) -> str:
    return f"{measured.cost.queries} queries:\n" + "\n".join(measured.statements)


def send_and_check(event: BenchEvent) -> MeasuredEvent:
    measured = measure_one(event)
    assert measured.cost.receiver_errors == 0, "a badges receiver raised"
    return measured


def run_scenario(learner: int) -> dict[str, MeasuredEvent]:
    """Non-matching events, first requirement, completion (award + issue), penalty (revoke) on template 0."""
    key_a, key_b = requirement_course_keys(0)
    name = username(learner)
    send_and_check(warmup_event())  # the first event after a configuration change reloads the rulebook
    results = {}

    results["non-matching passing"] = send_and_check(BenchEvent(learner, unused_course_key(0), True, False))
    results["non-matching failing"] = send_and_check(BenchEvent(learner, unused_course_key(1), False, False))
    assert not User.objects.filter(username=name).exists()
    assert not BadgeProgress.objects.filter(username=name).exists()

    results["first requirement"] = send_and_check(BenchEvent(learner, key_a, True, True))
    assert Fulfillment.objects.filter(progress__username=name).count() == 1
    assert not CredlyBadge.objects.filter(username=name).exists()

    results["completion"] = send_and_check(BenchEvent(learner, key_b, True, True))
    badge = CredlyBadge.objects.get(username=name)
    assert badge.status == CredlyBadge.Status.AWARDED
    assert badge.external_uuid is not None, "issuing did not run within the event"
    assert results["completion"].provider_calls.issued == 1

    results["penalty"] = send_and_check(BenchEvent(learner, key_a, False, True))
    badge.refresh_from_db()
    assert badge.status == CredlyBadge.Status.REVOKED
    assert results["penalty"].provider_calls.revoked == 1
    return results


@pytest.fixture
def costs_by_templates() -> dict[int, dict[str, MeasuredEvent]]:
    """The scenario at T=1, then (499 templates added) at T=500 with another learner."""
    build_rulebook(1)
    at_one = run_scenario(learner=1)
    build_rulebook(499, first_index=1)
    at_five_hundred = run_scenario(learner=2)
    return {1: at_one, 500: at_five_hundred}


def test_non_matching_events_cost_at_most_two_queries_and_write_nothing(costs_by_templates):
    for templates, results in costs_by_templates.items():
        for name in ("non-matching passing", "non-matching failing"):
            measured = results[name]
            assert measured.cost.queries <= NON_MATCHING_MAX_QUERIES, f"T={templates} {name}: {explain(measured)}"
            writes = [sql for sql in measured.statements if sql.lstrip().upper().startswith(WRITE_STATEMENTS)]
            assert writes == [], f"T={templates} {name} wrote: {writes}"
            assert measured.provider_calls.total == 0


def test_matching_events_cost_at_most_nineteen_queries(costs_by_templates):
    for templates, results in costs_by_templates.items():
        for name in ("first requirement", "completion", "penalty"):
            measured = results[name]
            assert measured.cost.queries <= MATCHING_MAX_QUERIES, f"T={templates} {name}: {explain(measured)}"


def test_query_counts_are_the_same_with_1_and_500_templates(costs_by_templates):
    counts = {templates: {name: m.cost.queries for name, m in results.items()}
              for templates, results in costs_by_templates.items()}
    assert counts[1] == counts[500]


@pytest.fixture
def repeat_costs() -> dict[str, tuple[MeasuredEvent, int]]:
    """A learner's first matching event, the same requirement twice more (no change), then completion;
    each with the number of statements the ORM compiled for it."""
    build_rulebook(50)
    key_a, key_b = requirement_course_keys(7)
    send_and_check(warmup_event())
    results = {}
    with count_orm_compilations() as compiled:
        for name, key in (("first", key_a), ("repeat", key_a), ("repeat again", key_a), ("completion", key_b)):
            measured = send_and_check(BenchEvent(3, key, True, True))
            results[name] = (measured, compiled.take())
    assert CredlyBadge.objects.filter(username=username(3), status=CredlyBadge.Status.AWARDED).count() == 1
    return results


class CompilationCounter:
    def __init__(self) -> None:
        self.count = 0

    def take(self) -> int:
        count, self.count = self.count, 0
        return count


@contextlib.contextmanager
def count_orm_compilations():
    """Count SQL built by the ORM's compilers, queries and writes (what cost an event its time, not the database)."""
    counter = CompilationCounter()
    with contextlib.ExitStack() as stack:
        for compiler in (SQLCompiler, SQLInsertCompiler, SQLUpdateCompiler, SQLDeleteCompiler):
            stack.enter_context(mock.patch.object(compiler, "as_sql", counting(compiler.as_sql, counter)))
        yield counter


def counting(as_sql, counter: CompilationCounter):
    def wrapper(self, *args, **kwargs):
        counter.count += 1
        return as_sql(self, *args, **kwargs)
    return wrapper


def test_a_repeat_matching_event_costs_no_more_than_a_first_one(repeat_costs):
    (first, first_compiled), (repeat, compiled) = repeat_costs["first"], repeat_costs["repeat"]
    again = repeat_costs["repeat again"][0]
    assert repeat.cost.queries <= first.cost.queries, explain(repeat)
    assert again.cost.queries == repeat.cost.queries
    writes = [sql for sql in repeat.statements if sql.lstrip().upper().startswith(WRITE_STATEMENTS)]
    assert len(writes) == 1, writes  # the event's own record; progress and fulfillments are unchanged
    # The event record, the learner's lock, progress read and writes are prepared SQL: the ORM builds nothing.
    assert (first_compiled, compiled) == (0, 0)


def test_an_awarding_event_builds_only_the_award_records_with_the_orm(repeat_costs):
    """Issuing in-process included (its badge lock, template read and attempt updates are prepared SQL):
    the ORM builds only the user record's upsert and the badge record's two inserts (the host's table first)."""
    completion, compiled = repeat_costs["completion"]
    assert completion.provider_calls.issued == 1
    assert compiled <= 3, compiled
