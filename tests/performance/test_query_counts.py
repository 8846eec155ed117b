"""Regression guard for issue 7: SQL queries per event do not grow with the number of templates.

Each scenario sends events through the public signal (as the bus consumer does) at T=1 and at
T=500 active templates and counts every query, issuing included (transactional database, so
the on-commit Celery task runs in-process as in production; Credly is answered by ``responses``).
Counts, not times: they are deterministic.
"""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

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
