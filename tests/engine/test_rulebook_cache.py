"""The per-process rulebook cache never serves configuration rows that no longer exist.

The cache is keyed by the configuration token. A value the database can go back to (a counter
after a rolled-back transaction or a restored backup) could match a rulebook this process built
from rows that are gone; the token is random, so no later change can bring back a cached key.
"""
from __future__ import annotations

import pytest
from django.db import transaction
from openedx_events.learning.signals import COURSE_PASSING_STATUS_UPDATED

from badges.models import BadgeRequirement, BadgeTemplate, RulebookVersion
from badges.rulebook import current_rulebook

pytestmark = pytest.mark.django_db(transaction=True)

EVENT_TYPE = COURSE_PASSING_STATUS_UPDATED.event_type


class RolledBack(Exception):
    pass


def names(rulebook) -> set[str]:
    """Template names, not ids: a database may give a rolled-back row's id to the next row."""
    return {template.name for template in rulebook.templates.values()}


@pytest.fixture
def active_template(make_credly_template, add_requirement, activate):
    def make(name: str):
        template = make_credly_template(name=name)
        add_requirement(template, rules=[("is_passing", "eq", "true")])
        return activate(template)

    return make


def test_a_rolled_back_change_is_not_served_after_a_later_change(active_template):
    active_template("Kept")
    assert names(current_rulebook(EVENT_TYPE)) == {"Kept"}
    with pytest.raises(RolledBack), transaction.atomic():
        active_template("Rolled back")
        assert names(current_rulebook(EVENT_TYPE)) == {"Kept", "Rolled back"}  # cached inside the transaction
        raise RolledBack
    assert not BadgeTemplate.objects.filter(name="Rolled back").exists()

    active_template("Later")  # as many changes as were rolled back: a counter would be where it was
    assert names(current_rulebook(EVENT_TYPE)) == {"Kept", "Later"}


def test_a_restored_backup_is_not_served_the_rulebook_of_rows_it_lacks(active_template):
    active_template("Kept")
    current_rulebook(EVENT_TYPE)
    backup = RulebookVersion.objects.values().get()
    lost = active_template("Created after the backup")
    assert names(current_rulebook(EVENT_TYPE)) == {"Kept", "Created after the backup"}

    # Restore the backup: the newer rows and the newer configuration token are gone.
    BadgeRequirement.objects.filter(template=lost).delete()
    BadgeTemplate.objects.filter(pk=lost.pk).delete()
    RulebookVersion.objects.filter(pk=backup["id"]).update(**backup)
    active_template("Created after the restore")  # as many changes as the backup lacks
    assert names(current_rulebook(EVENT_TYPE)) == {"Kept", "Created after the restore"}

