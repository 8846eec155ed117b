"""Seed the demo: a Credly organization at the local fake provider and here, one active template.

The template needs two groups: group A is passing the demo course X; group B is passing the
demo course Y or the demo course Z. Running the command again changes nothing that exists
(requirements an operator edited are left alone). It only talks to the local fake provider
(:mod:`badges.testing.fake_provider`), never to Credly.
"""
from __future__ import annotations

from typing import Any

from django.contrib.sites.models import Site
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from badges.conf import COURSE_PASSING_STATUS_UPDATED, provider_urls
from badges.models import BadgeRequirement, CredlyBadgeTemplate, CredlyOrganization, DataRule
from badges.sync import sync_credly_organization
from badges.testing.fake_provider import FakeProviderControl, urls_for

DEMO_ORGANIZATION_UUID = "6f1c9d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f"
DEMO_ORGANIZATION_NAME = "Demo Organization"
# A key known only to the local fake provider; the demo never reaches Credly.
DEMO_API_KEY = "demo-fake-provider-key"
DEMO_TEMPLATE_UUID = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
DEMO_TEMPLATE_NAME = "Demo Program Badge"
DEMO_COURSES = {
    "A": "course-v1:DemoX+Intro+2024",
    "B": "course-v1:DemoX+Advanced+2024",
    "B-alternative": "course-v1:DemoX+Capstone+2024",
}
# (group, course key, description)
DEMO_REQUIREMENTS = [
    ("A", DEMO_COURSES["A"], "Pass the introduction course"),
    ("B", DEMO_COURSES["B"], "Pass the advanced course"),
    ("B", DEMO_COURSES["B-alternative"], "or pass the capstone course"),
]


def fake_provider_url_from_settings() -> str | None:
    """The fake provider's root URL when ``BADGES_CONFIG`` points Credly at one, else None."""
    api = provider_urls("credly")["api"]
    suffix = "credly/v1/"
    if not api.endswith(suffix):
        return None
    url = api[: -len(suffix)]
    return url if urls_for(url)["credly_api"] == api else None


class Command(BaseCommand):
    help = "Create the demo Credly organization and an active two-group template (at the local fake provider)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--fake-provider-url",
            help="Root URL of the running fake provider. Default: derived from BADGES_CONFIG's Credly API URL.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["fake_provider_url"] or fake_provider_url_from_settings()
        if not url:
            raise CommandError(
                "seed_demo needs the local fake provider: point BADGES_CONFIG at it (scripts/dev.py serve does) "
                "or pass --fake-provider-url."
            )
        control = FakeProviderControl(url)
        control.add_credly_organization(
            api_key=DEMO_API_KEY, name=DEMO_ORGANIZATION_NAME, organization_id=DEMO_ORGANIZATION_UUID
        )
        control.add_credly_template(
            DEMO_ORGANIZATION_UUID, template_id=DEMO_TEMPLATE_UUID, name=DEMO_TEMPLATE_NAME,
            description="Awarded for the introduction course plus the advanced or the capstone course.",
        )
        site = Site.objects.get_current()
        organization, _ = CredlyOrganization.objects.update_or_create(
            uuid=DEMO_ORGANIZATION_UUID, defaults={"api_key": DEMO_API_KEY, "name": DEMO_ORGANIZATION_NAME}
        )
        if organization.api_key_set_at is None:
            # As if the operator had entered the demo key in the admin: its expiry is then known.
            organization.api_key_set_at = timezone.now()
            organization.save(update_fields=["api_key_set_at"])
        result = sync_credly_organization(organization, site)
        self.stdout.write(f"Synced {organization}: {result}")
        with transaction.atomic():
            template = CredlyBadgeTemplate.objects.select_for_update().get(uuid=DEMO_TEMPLATE_UUID)
            if not template.requirements.exists():
                for group, course_key, description in DEMO_REQUIREMENTS:
                    requirement = BadgeRequirement.objects.create(
                        template=template, event_type=COURSE_PASSING_STATUS_UPDATED, group=group,
                        description=description,
                    )
                    DataRule.objects.create(requirement=requirement, data_path="course.course_key",
                                            operator=DataRule.Operator.EQ, value=course_key)
                    DataRule.objects.create(requirement=requirement, data_path="is_passing",
                                            operator=DataRule.Operator.EQ, value="true")
            if not template.is_active:
                template.is_active = True
                template.full_clean()
                template.save()
        self.stdout.write(f"Demo template {template.name!r} ({template.uuid}) is active; it needs:")
        for requirement in template.requirements.prefetch_related("rules"):
            rules = ", ".join(str(rule) for rule in requirement.rules.all())
            self.stdout.write(f"  group {requirement.group}: {requirement.description} [{rules}]")
