"""``manage.py reencrypt_api_keys``: re-encrypt every stored API key with the newest encryption key.

Run after putting a new key first in ``BADGES_FIELD_ENCRYPTION_KEYS`` (or after moving the old
``SECRET_KEY`` to ``SECRET_KEY_FALLBACKS``); the old key can be removed once it has finished.
Running it twice is harmless.
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from badges.encryption import UndecryptableKeyError, encrypted_fields


class Command(BaseCommand):
    help = "Re-encrypt every stored provider API key with the newest key of BADGES_FIELD_ENCRYPTION_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for model, field in encrypted_fields():
            for pk in model.objects.exclude(**{field: ""}).values_list("pk", flat=True).order_by("pk"):
                total += self.reencrypt(model, field, pk)
        self.stdout.write(f"Re-encrypted {total} stored API key(s) with the newest key.")

    def reencrypt(self, model: Any, field: str, pk: int) -> int:
        """Decrypt (any configured key) and store again (newest key), under a row lock; 1 when done."""
        with transaction.atomic():
            try:
                value = model.objects.select_for_update().filter(pk=pk).values_list(field, flat=True).first()
            except UndecryptableKeyError as error:
                raise CommandError(f"{model._meta.verbose_name} {pk}: {error}") from None
            if not value:
                return 0
            model.objects.filter(pk=pk).update(**{field: value})
        return 1
