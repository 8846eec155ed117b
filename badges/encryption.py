"""Provider API keys encrypted at rest, with keys from settings that can be rotated.

Stored keys are Fernet tokens (AES-128-CBC + HMAC-SHA256, from ``cryptography``). The keys that
encrypt them come from ``BADGES_FIELD_ENCRYPTION_KEYS``: the first one encrypts, every one
decrypts, so a new key is put first, ``manage.py reencrypt_api_keys`` re-encrypts every stored
key with it, and only then is the old key removed.

When ``BADGES_FIELD_ENCRYPTION_KEYS`` is empty, the key that encrypts is derived from
``SECRET_KEY``. A fresh clone thus works with nothing configured, and rotating ``SECRET_KEY`` the
documented Django way (old value moved to ``SECRET_KEY_FALLBACKS``, then ``reencrypt_api_keys``)
keeps the keys readable. Production should set its own keys: a leaked ``SECRET_KEY`` should not
also reveal the provider keys in a database dump; ``manage.py check --deploy`` warns until they
are set. Keys derived from ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS`` always decrypt (after the
configured ones), so setting keys of one's own for the first time needs no other step than
``reencrypt_api_keys``; once it has run, no stored token is readable with ``SECRET_KEY``.
"""
from __future__ import annotations

import base64
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.crypto import salted_hmac

from badges.conf import badges_settings

SETTING = "BADGES_FIELD_ENCRYPTION_KEYS"
DERIVATION_SALT = "badges.encryption.api-keys"


class UndecryptableKeyError(ImproperlyConfigured):
    """A stored API key does not decrypt with any configured key (the key that encrypted it was removed)."""


def _derived_key(secret: str | bytes) -> bytes:
    digest = salted_hmac(DERIVATION_SALT, "fernet", secret=secret, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest)


def configured_keys() -> list[bytes]:
    """The Fernet keys in use, the one that encrypts first: the configured keys, then the derived ones."""
    configured = badges_settings.FIELD_ENCRYPTION_KEYS
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [*(key.encode() if isinstance(key, str) else key for key in configured),
            *(_derived_key(secret) for secret in secrets)]


def uses_derived_keys() -> bool:
    return not badges_settings.FIELD_ENCRYPTION_KEYS


def _fernet() -> MultiFernet:
    fernets = []
    for position, key in enumerate(configured_keys(), start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"{SETTING}: key #{position} is not a Fernet key (32 url-safe base64-encoded bytes; make one "
                "with `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)."
            ) from None
    return MultiFernet(fernets)


def encrypt(plaintext: str) -> str:
    """A fresh token of ``plaintext`` under the newest key."""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """The plaintext of a stored token; raises :class:`UndecryptableKeyError` (never showing the token)."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise UndecryptableKeyError(
            f"A stored API key cannot be decrypted with the keys in {SETTING} (or, when that is empty, "
            "SECRET_KEY and SECRET_KEY_FALLBACKS). Put back the key that encrypted it, or enter the API key "
            "again in the admin."
        ) from None


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet token; model instances hold the plaintext.

    Serializers (``dumpdata``) read the value through :meth:`value_from_object` and so get the
    token, never the plaintext; :meth:`to_python` turns a token back into its plaintext, so
    ``loaddata`` of such a dump stores the same key. An empty value is stored empty.
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return decrypt(value) if value else value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return encrypt(value) if value else value

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if not value:
            return value
        try:
            return _fernet().decrypt(value.encode()).decode()
        except InvalidToken:
            return value

    def value_from_object(self, obj: models.Model) -> Any:
        value = super().value_from_object(obj)
        return encrypt(value) if value else value


def encrypted_fields() -> list[tuple[type[models.Model], str]]:
    """Every (model, field name) of this app stored encrypted."""
    from django.apps import apps

    return [
        (model, field.name)
        for model in apps.get_app_config("badges").get_models()
        for field in model._meta.get_fields()
        if isinstance(field, EncryptedTextField)
    ]


def check_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """System check: the configured keys must be Fernet keys."""
    try:
        _fernet()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="badges.E030")]
    return []


def check_encryption_keys_deploy(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Deployment check: keys derived from SECRET_KEY mean a leaked SECRET_KEY also reveals the API keys."""
    if uses_derived_keys():
        return [checks.Warning(
            f"{SETTING} is not set: stored API keys are encrypted with a key derived from SECRET_KEY.",
            hint=f"Set {SETTING} to a Fernet key of its own, then run `manage.py reencrypt_api_keys`.",
            id="badges.W030",
        )]
    return []
