"""Regression guard: a configuration change costs the next event the same work at any number of
templates. One data rule is saved (as the admin does) at T=10 and at T=3,000; the next event's SQL
queries and what the process reloads (templates read, index entries filed) are counted. Counts,
not times: they are deterministic."""
from __future__ import annotations

import dataclasses

import pytest

from badges import rulebook
from badges.models import DataRule
from benchmarks.workload import build_rulebook, measure_one, warmup_event

pytestmark = pytest.mark.django_db

TEMPLATES_CHANGED = 1
ENTRIES_OF_ONE_TEMPLATE = 3  # its two requirements and its penalty
QUERIES_AFTER_A_CHANGE = 4  # the version, the change log, the template's requirements, its penalties


@dataclasses.dataclass(frozen=True)
class ChangeCost:
    queries: int
    reloads: rulebook.ReloadCounts


def next_event_after_one_save(template_id: int) -> ChangeCost:
    """Warm the cache, save one data rule of ``template_id``, then send a non-matching event."""
    rulebook.clear_cache()
    assert measure_one(warmup_event()).cost.queries > 1  # the rulebook is loaded
    assert measure_one(warmup_event()).cost.queries == 1  # and then cached
    DataRule.objects.filter(requirement__template_id=template_id).first().save()
    before = dataclasses.replace(rulebook.reload_counts)
    queries = measure_one(warmup_event()).cost.queries
    after = rulebook.reload_counts
    return ChangeCost(queries, rulebook.ReloadCounts(*(
        getattr(after, name.name) - getattr(before, name.name) for name in dataclasses.fields(after)
    )))


def test_one_save_costs_the_next_event_the_same_at_10_and_3000_templates():
    small = build_rulebook(10)
    at_ten = next_event_after_one_save(small.template_ids[3])
    build_rulebook(2990, first_index=10)
    at_three_thousand = next_event_after_one_save(small.template_ids[3])

    assert at_ten == at_three_thousand
    assert at_three_thousand.reloads == rulebook.ReloadCounts(
        full_loads=0, incremental_updates=1, templates_reloaded=TEMPLATES_CHANGED,
        index_entries=ENTRIES_OF_ONE_TEMPLATE,
    )
    assert at_three_thousand.queries == QUERIES_AFTER_A_CHANGE
