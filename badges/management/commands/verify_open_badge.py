"""``manage.py verify_open_badge FILE|- [--fetch] [--json]``: verify an Open Badges 3.0 VC-JWT.

The file holds the compact VC-JWT, its enveloped JSON form, or a PNG with the credential baked
in. Without ``--fetch`` only this service's own keys and status lists are used; with it they are
fetched from their URLs, as any verifier would. Exit status 0 when valid, 1 when not.
"""
from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from badges.openbadges.baking import PNG_SIGNATURE, extract_token
from badges.openbadges.verify import HttpResolver, LocalResolver, token_of, verify_credential


class Command(BaseCommand):
    help = "Verify an Open Badges 3.0 credential (VC-JWT, its JSON form, or a baked PNG): signature, issuer, " \
           "validity window and revocation status, with the reason for each failure."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="File with the credential, or - for standard input.")
        parser.add_argument("--fetch", action="store_true",
                            help="Fetch keys and status lists from their published URLs instead of this database.")
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print the result as JSON.")

    def handle(self, *args, path: str, fetch: bool, as_json: bool, **options) -> None:
        data = self._read(path)
        token = extract_token(data) if data.startswith(PNG_SIGNATURE) else token_of(data)
        if token is None:
            raise CommandError(f"{path} holds no VC-JWT (nor a PNG with one baked in).")
        result = verify_credential(token, HttpResolver() if fetch else LocalResolver())
        if as_json:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
        elif result.valid:
            credential = result.credential or {}
            self.stdout.write(f"Valid: {credential.get('name')!r} issued by {credential.get('iss')}, "
                              f"not revoked.")
        else:
            self.stdout.write("Not valid:\n" + "\n".join(f"- {reason}" for reason in result.reasons))
        if not result.valid:
            sys.exit(1)

    @staticmethod
    def _read(path: str) -> bytes:
        if path == "-":
            return sys.stdin.buffer.read()
        try:
            with open(path, "rb") as file:
                return file.read()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc

