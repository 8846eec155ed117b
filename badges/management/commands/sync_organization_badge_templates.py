"""Sync badge templates of one or every Credly organization; exits non-zero when any sync failed."""
from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from badges.management.sync_reporting import report_outcomes, site_or_error
from badges.models import CredlyOrganization
from badges.sync import sync_each


class Command(BaseCommand):
    help = "Pull active badge templates from Credly for one organization (--organization_id) or all of them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organization_id", help="UUID of one Credly organization; all when omitted.")
        parser.add_argument("--site_id", type=int, help="Site new templates belong to; the current site by default.")

    def handle(self, *args: Any, organization_id: str | None = None, site_id: int | None = None,
               **options: Any) -> None:
        site = site_or_error(site_id)
        organizations = CredlyOrganization.objects.order_by("pk")
        if organization_id:
            try:
                organizations = organizations.filter(uuid=uuid.UUID(organization_id))
            except ValueError:
                raise CommandError(f"--organization_id {organization_id!r} is not a UUID.") from None
            if not organizations.exists():
                raise CommandError(f"No Credly organization {organization_id} is configured.")
        report_outcomes(self, sync_each(organizations, site=site))
