from tests.performance.test_query_counts import costs_by_templates, pytestmark  # noqa: F401
def test_print(costs_by_templates):
    for t, res in costs_by_templates.items():
        print("COUNTS", t, {k: m.cost.queries for k, m in res.items()})
