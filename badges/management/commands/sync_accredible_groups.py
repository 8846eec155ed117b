"""Sync groups of one or every Accredible API config; exits non-zero when any sync failed."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from badges.management.sync_reporting import report_outcomes, site_or_error
from badges.models import AccredibleAPIConfig
from badges.sync import sync_each


class Command(BaseCommand):
    help = "Pull groups from Accredible for one API config (--api_config_id) or all of them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--api_config_id", type=int, help="ID of one Accredible API config; all when omitted.")
        parser.add_argument("--site_id", type=int, help="Site new groups belong to; the current site by default.")

    def handle(self, *args: Any, api_config_id: int | None = None, site_id: int | None = None,
               **options: Any) -> None:
        site = site_or_error(site_id)
        configs = AccredibleAPIConfig.objects.order_by("pk")
        if api_config_id is not None:
            configs = configs.filter(pk=api_config_id)
            if not configs.exists():
                raise CommandError(f"No Accredible API config with ID {api_config_id}.")
        report_outcomes(self, sync_each(configs, site=site))
