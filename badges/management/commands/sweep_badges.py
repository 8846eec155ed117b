"""``manage.py sweep_badges``: what the periodic sweep does, once, now."""
from __future__ import annotations

from django.core.management.base import BaseCommand

from badges.tasks.issuing import run_sweep


class Command(BaseCommand):
    help = ("Apply bus events left unfinished, queue badges whose provider task was lost or is due for a "
            "retry, and forget processed event ids older than BADGES_EVENT_DEDUP_DAYS.")

    def handle(self, *args, **options) -> None:
        done = run_sweep()
        self.stdout.write(", ".join(f"{name.replace('_', ' ')}: {count}" for name, count in done.items()))
