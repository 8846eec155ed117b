"""Events inside ``one_configuration_check`` (a bus consumer's batch) share one configuration version
query, and still never keep an old configuration past the batch, a reconnect or a slow spell."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from badges import rulebook
from badges.models import BadgeProgress, RulebookVersion
from badges.rulebook import one_configuration_check
from tests.engine.conftest import COURSE_A, COURSE_B, send_grade

pytestmark = pytest.mark.django_db


def version_queries(captured: CaptureQueriesContext) -> int:
    table = RulebookVersion._meta.db_table
    return sum(1 for query in captured.captured_queries
               if table in query["sql"] and query["sql"].lstrip().upper().startswith("SELECT"))


@pytest.fixture
def template_on_course_a(make_credly_template, add_requirement, activate):
    template = make_credly_template(name="Course A")
    add_requirement(template, rules=[("course.course_key", "eq", COURSE_A)])
    return activate(template)


def test_every_event_checks_the_version_outside_a_batch(template_on_course_a):
    send_grade(COURSE_B)  # loads the rulebook
    with CaptureQueriesContext(connection) as captured:
        for _ in range(5):
            send_grade(COURSE_B)
    assert version_queries(captured) == 5
    assert len(captured) == 5  # and nothing else: the events match nothing


def test_the_events_of_a_batch_share_one_version_query(template_on_course_a):
    send_grade(COURSE_B)
    with CaptureQueriesContext(connection) as captured, one_configuration_check():
        for _ in range(5):
            send_grade(COURSE_B)
        with one_configuration_check():  # nested: the outer batch counts
            send_grade(COURSE_B)
    assert version_queries(captured) == 1
    assert len(captured) == 1


def test_a_change_saved_during_a_batch_applies_from_the_next_batch(template_on_course_a, make_credly_template,
                                                                    add_requirement, activate):
    with one_configuration_check():
        send_grade(COURSE_B)
        on_course_b = make_credly_template(name="Course B")
        add_requirement(on_course_b, rules=[("course.course_key", "eq", COURSE_B)])
        activate(on_course_b)
        send_grade(COURSE_B)  # judged by the configuration the batch checked: no template on B yet
        assert not BadgeProgress.objects.filter(template=on_course_b).exists()
    with one_configuration_check():
        send_grade(COURSE_B)
    assert BadgeProgress.objects.filter(template=on_course_b).exists()


@pytest.mark.django_db(transaction=True)  # a test transaction would keep the connection open
def test_a_new_database_connection_checks_the_version_again(template_on_course_a):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("Django never closes an in-memory SQLite database; PostgreSQL and MariaDB run this")
    with one_configuration_check():
        send_grade(COURSE_B)
        connection.close()  # what the bus consumer does while it waits out a database outage
        with CaptureQueriesContext(connection) as captured:
            send_grade(COURSE_B)
            send_grade(COURSE_B)
    assert version_queries(captured) == 1


def test_a_batch_older_than_the_bound_checks_the_version_again(template_on_course_a, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(rulebook.time, "monotonic", lambda: now[0])
    with one_configuration_check():
        send_grade(COURSE_B)
        with CaptureQueriesContext(connection) as captured:
            now[0] += rulebook.SHARED_CHECK_MAX_AGE_SECONDS / 2
            send_grade(COURSE_B)
            now[0] += rulebook.SHARED_CHECK_MAX_AGE_SECONDS
            send_grade(COURSE_B)  # read again
            send_grade(COURSE_B)
    assert version_queries(captured) == 1


def test_a_cleared_cache_inside_a_batch_loads_again(template_on_course_a):
    with one_configuration_check():
        send_grade(COURSE_B)
        rulebook.clear_cache()
        with CaptureQueriesContext(connection) as captured:
            send_grade(COURSE_A)
    assert version_queries(captured) == 1
    assert BadgeProgress.objects.filter(template=template_on_course_a).exists()
