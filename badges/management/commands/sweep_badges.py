"""``manage.py sweep_badges [--every SECONDS]``: what the periodic sweep does, once or in a loop."""
from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from badges.tasks.sweep import run_sweep


class Command(BaseCommand):
    help = ("Apply bus events left unfinished, queue badges and webhook events whose task was lost or is due "
            "for a retry, and forget processed event ids older than BADGES_EVENT_DEDUP_DAYS.")

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--every", type=float, metavar="SECONDS",
            help="Sweep again every SECONDS until interrupted: a stand-in for Celery beat where none runs.",
        )

    def handle(self, *args, every: float | None = None, **options) -> None:
        while True:
            done = run_sweep()
            self.stdout.write(", ".join(f"{name.replace('_', ' ')}: {count}" for name, count in done.items()))
            if not every:
                return
            try:
                time.sleep(every)
            except KeyboardInterrupt:
                return
