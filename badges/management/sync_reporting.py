"""What both sync commands share: resolving ``--site_id`` and reporting per-account outcomes."""
from __future__ import annotations

from collections.abc import Sequence

from django.contrib.sites.models import Site
from django.core.management.base import BaseCommand, CommandError

from badges.sync import AccountSyncOutcome


def site_or_error(site_id: int | None) -> Site:
    if site_id is None:
        return Site.objects.get_current()
    try:
        return Site.objects.get(pk=site_id)
    except Site.DoesNotExist:
        raise CommandError(f"No site with ID {site_id}.") from None


def report_outcomes(command: BaseCommand, outcomes: Sequence[AccountSyncOutcome]) -> None:
    """One line per account; raises :class:`CommandError` (exit status 1) when any failed."""
    for outcome in outcomes:
        if outcome.ok:
            command.stdout.write(command.style.SUCCESS(str(outcome)))
        else:
            command.stderr.write(command.style.ERROR(str(outcome)))
    failed = sum(not outcome.ok for outcome in outcomes)
    if failed:
        raise CommandError(f"{failed} of {len(outcomes)} sync(s) failed.")
    if not outcomes:
        command.stdout.write("Nothing to sync: no account is configured.")
