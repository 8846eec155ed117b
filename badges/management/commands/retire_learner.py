"""``manage.py retire_learner (--lms-user-id ID | --username NAME)``: erase a retired learner's personal data."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from badges.identity import retire_learner


class Command(BaseCommand):
    help = ("Replace a retired learner's username, email and name everywhere the badges app stores them with "
            "the LMS's retired values (BADGES_RETIRED_USER_SALTS). Running it again changes nothing.")

    def add_arguments(self, parser) -> None:
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--lms-user-id", type=int, help="The learner's LMS user id.")
        who.add_argument("--username", help="The learner's username before retirement.")

    def handle(self, *args, lms_user_id: int | None, username: str | None, **options) -> None:
        try:
            result = retire_learner(lms_user_id=lms_user_id, username=username)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if not result.changed:
            self.stdout.write("Nothing to retire: no record names this learner (already retired, or never seen).")
            return
        self.stdout.write(f"Retired: {result.users} user record(s), {result.progress} progress row(s), "
                          f"{result.badges} badge record(s), {result.events} stored event(s).")
