"""``manage.py retry_badge_issuing [--badge-uuid UUID ...]``: send waiting or failed badges to their provider again."""
from __future__ import annotations

import uuid

from django.core.management.base import BaseCommand, CommandError

from badges import issuing
from badges.tasks.issuing import queue_retry


class Command(BaseCommand):
    help = ("Queue the provider task again for badges not yet issued (created, no response, error) or whose "
            "revocation did not reach the provider; all of them, or only those given with --badge-uuid.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--badge-uuid", action="append", default=[], dest="badge_uuids",
                            help="Only this badge (our UUID, as shown in the admin); may be repeated.")

    def handle(self, *args, badge_uuids: list[str], **options) -> None:
        try:
            wanted = [uuid.UUID(value) for value in badge_uuids]
        except ValueError as exc:
            raise CommandError(f"--badge-uuid: not a UUID ({exc}).") from exc
        found = 0
        queued = 0
        for kind in issuing.KINDS.values():
            badges = kind.badge_model.objects.filter(uuid__in=wanted) if wanted else issuing.retryable_badges(kind)
            for badge in badges:
                found += 1
                if not queue_retry(badge):
                    self.stdout.write(f"{badge.uuid}: not queued ({badge.status}, {badge.state}).")
                    continue
                queued += 1
                self.stdout.write(f"{badge.uuid}: queued ({badge.username}; now {badge.status}, {badge.state}).")
        missing = len(wanted) - found if wanted else 0
        if missing:
            self.stderr.write(f"{missing} of the given badge UUIDs were not found.")
        self.stdout.write(f"Queued {queued} badge(s) for their provider.")
        if missing:
            raise CommandError("Some badges were not found.")
