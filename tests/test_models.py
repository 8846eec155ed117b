"""Database constraints of the badge data model."""
import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from badges.models import (
    BadgeProgress,
    BadgeRequirement,
    CredlyBadge,
    CredlyBadgeTemplate,
    Fulfillment,
    RulebookVersion,
)

pytestmark = pytest.mark.django_db


def test_synced_template_starts_inactive_with_its_origin(make_credly_template, make_accredible_group):
    assert make_credly_template().is_active is False
    assert make_credly_template().origin == "credly"
    assert make_accredible_group().origin == "accredible"


def test_template_cannot_be_active_without_requirements(make_credly_template, add_requirement):
    template = make_credly_template()
    template.is_active = True
    with pytest.raises(ValidationError, match="requirement"):
        template.full_clean()
    add_requirement(template)
    template.full_clean()


def test_new_requirements_take_the_next_free_group_letter(make_credly_template, add_requirement):
    template = make_credly_template()
    assert [add_requirement(template).group for _ in range(3)] == ["A", "B", "C"]
    assert add_requirement(template, group="A").group == "A"
    assert add_requirement(template).group == "D"


def test_group_must_be_one_capital_letter(make_credly_template):
    requirement = BadgeRequirement(template=make_credly_template(), event_type="x", group="a")
    with pytest.raises(ValidationError):
        requirement.full_clean()


def test_one_badge_per_learner_per_template(make_credly_template):
    template = make_credly_template()
    content_type = ContentType.objects.get_for_model(CredlyBadgeTemplate)
    CredlyBadge.objects.create(credential_content_type=content_type, credential_id=template.pk, username="ann")
    with pytest.raises(IntegrityError), transaction.atomic():
        CredlyBadge.objects.create(credential_content_type=content_type, credential_id=template.pk, username="ann")


def test_one_progress_per_learner_and_one_fulfillment_per_requirement(make_credly_template, add_requirement):
    template = make_credly_template()
    requirement = add_requirement(template)
    progress = BadgeProgress.objects.create(username="ann", template=template)
    Fulfillment.objects.create(progress=progress, requirement=requirement)
    with pytest.raises(IntegrityError), transaction.atomic():
        Fulfillment.objects.create(progress=progress, requirement=requirement)
    with pytest.raises(IntegrityError), transaction.atomic():
        BadgeProgress.objects.create(username="ann", template=template)


def test_accredible_group_id_unique_per_api_config(make_accredible_group):
    make_accredible_group(external_id=7)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_accredible_group(external_id=7)


def test_configuration_changes_move_the_rulebook_version(make_credly_template, add_requirement):
    seen = [RulebookVersion.current()]
    template = make_credly_template()
    seen.append(RulebookVersion.current())
    add_requirement(template, rules=[("is_passing", "eq", "true")])
    seen.append(RulebookVersion.current())
    template.requirements.first().delete()
    seen.append(RulebookVersion.current())
    assert len(set(seen)) == len(seen)


def test_credly_badge_external_uuid_is_unique(make_credly_template):
    content_type = ContentType.objects.get_for_model(CredlyBadgeTemplate)
    external = uuid.uuid4()
    first, second = make_credly_template(), make_credly_template()
    CredlyBadge.objects.create(
        credential_content_type=content_type, credential_id=first.pk, username="ann", external_uuid=external
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        CredlyBadge.objects.create(
            credential_content_type=content_type, credential_id=second.pk, username="bob", external_uuid=external
        )
