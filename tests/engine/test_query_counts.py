"""SQL queries per event, issuing included, with 1 and with 500 active templates: the same, and small.

Counts, not times. The provider is the in-test one, so every query counted is the engine's.
"""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from badges.models import CredlyBadge
from benchmarks.workload import BenchEvent, build_rulebook, requirement_course_keys, unused_course_key
from tests.engine.conftest import send_grade

User = get_user_model()

pytestmark = pytest.mark.django_db(transaction=True)

NON_MATCHING_MAX = 2
MATCHING_MAX = 19  # issuing counts its attempt in a transaction of its own before the provider call


def queries_of(event: BenchEvent) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        send_grade(event.course_key, event.is_passing, event.payload().user)
    return [query["sql"] for query in captured.captured_queries]


def scenario(learner: int, provider) -> dict[str, list[str]]:
    key_a, key_b = requirement_course_keys(0)
    queries_of(BenchEvent(learner + 1000, unused_course_key(99), True, False))  # (re)loads the rulebook
    counts = {
        "non-matching": queries_of(BenchEvent(learner, unused_course_key(1), True, False)),
        "first requirement": queries_of(BenchEvent(learner, key_a, True, True)),
        "completion, award and issue": queries_of(BenchEvent(learner, key_b, True, True)),
        "penalty, revoke at provider": queries_of(BenchEvent(learner, key_a, False, True)),
        "requirement again, progress exists": queries_of(BenchEvent(learner, key_b, True, True)),
    }
    badge = CredlyBadge.objects.get(username=f"bench-learner-{learner}")
    assert (badge.status, badge.state) == ("revoked", "revoked")
    return counts


def test_query_counts_are_small_and_do_not_grow_with_templates(provider):
    build_rulebook(1)
    at_one = scenario(1, provider)
    build_rulebook(499, first_index=1)
    at_500 = scenario(2, provider)
    assert len(provider.issued) == 2 and len(provider.revoked) == 2

    counts = {name: len(sql) for name, sql in at_one.items()}
    print(f"\n{connection.vendor} queries per event: {counts}")
    assert counts == {name: len(sql) for name, sql in at_500.items()}
    assert counts["non-matching"] <= NON_MATCHING_MAX
    writes = [sql for sql in at_500["non-matching"] if sql.split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == []
    assert not User.objects.filter(username__in=["bench-learner-1001", "bench-learner-1002"]).exists()
    for name in ("first requirement", "completion, award and issue", "penalty, revoke at provider",
                 "requirement again, progress exists"):
        assert counts[name] <= MATCHING_MAX, (name, at_500[name])
