"""The learner-identity migration, from the previous schema with data in it, on the test database.

Rows are written through the historical models of the previous migration, then the migration runs
forward: each progress row gets its learner's LMS user id from the user record, else from a stored
event, and a pair the pre-identity engine split under two names is left split rather than merged.
"""
from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

PREVIOUS = ("badges", "0005_open_badges_issuer_achievements_credentials")
IDENTITY = ("badges", "0006_learner_identity")


def migrate(target: tuple[str, str]):
    """Migrate the badges app to ``target``; the historical models of every app at that point."""
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    executor.loader.build_graph()
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] != "badges"]
    return executor.loader.project_state([*others, target]).apps


@pytest.fixture
def previous_schema():
    apps = migrate(PREVIOUS)
    yield apps
    migrate(executor_leaf())


def executor_leaf() -> tuple[str, str]:
    executor = MigrationExecutor(connection)
    return next(node for node in executor.loader.graph.leaf_nodes() if node[0] == "badges")


def stored_event(apps, username: str, lms_user_id: int) -> None:
    apps.get_model("badges", "ReceivedEvent").objects.create(
        event_id=uuid.uuid4(), event_type="org.openedx.learning.course.passing.status.updated.v1",
        username=username, status="processed",
        payload={"data": {}, "learner": {"username": username, "email": f"{username}@example.com",
                                         "full_name": username, "lms_user_id": lms_user_id, "is_active": True}},
    )


def test_progress_rows_get_the_lms_user_id_of_their_learner(previous_schema):
    apps = previous_schema
    site = apps.get_model("sites", "Site").objects.create(domain="migration.example.com", name="m")
    organization = apps.get_model("badges", "CredlyOrganization").objects.create(uuid=uuid.uuid4(), name="Org")
    template_model = apps.get_model("badges", "CredlyBadgeTemplate")
    first, second = (template_model.objects.create(site=site, uuid=uuid.uuid4(), name=name, origin="credly",
                                                   organization=organization) for name in ("First", "Second"))
    users = apps.get_model(settings.AUTH_USER_MODEL)
    users.objects.create(username="alice", email="alice@example.com", lms_user_id=11, password="!")
    users.objects.create(username="dave-new", email="dave@example.com", lms_user_id=14, password="!")
    stored_event(apps, "bob", 12)
    stored_event(apps, "dave-old", 14)
    progress = apps.get_model("badges", "BadgeProgress")
    for username, template in (("alice", first), ("alice", second), ("bob", first), ("carol", first),
                               ("dave-old", first), ("dave-new", first), ("dave-new", second)):
        progress.objects.create(username=username, template=template)

    apps = migrate(IDENTITY)

    rows = apps.get_model("badges", "BadgeProgress").objects.order_by("id").values_list(
        "username", "template__name", "lms_user_id")
    assert list(rows) == [
        ("alice", "First", 11), ("alice", "Second", 11), ("bob", "First", 12), ("carol", "First", None),
        ("dave-old", "First", None), ("dave-new", "First", 14), ("dave-new", "Second", 14),
    ]
