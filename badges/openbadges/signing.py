"""Ed25519 signing keys of an issuer, the JWK Set that publishes them, and VC-JWT signing (joserfc).

The newest unretired key signs. Rotating adds a new key and retires the old one, which stays in
the JWK Set so that what it signed keeps verifying.
"""
from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Iterator
from typing import Any

from django.db import transaction
from django.utils import timezone
from joserfc import jws
from joserfc.jwk import OKPKey

from badges.models import OpenBadgeIssuer, OpenBadgeSigningKey

ALGORITHM = "EdDSA"
MEDIA_TYPE = "vc+jwt"


class NoSigningKeyError(Exception):
    """The issuer has no key that may sign: an operator must generate one in the admin."""


def generate_key(issuer: OpenBadgeIssuer) -> OpenBadgeSigningKey:
    """A new Ed25519 key that signs from now on; the previous signing key is retired, not deleted."""
    key = OKPKey.generate_key("Ed25519", private=True)
    with transaction.atomic():
        OpenBadgeIssuer.objects.select_for_update().filter(pk=issuer.pk).first()
        issuer.keys.filter(retired_at__isnull=True).update(retired_at=timezone.now())
        return OpenBadgeSigningKey.objects.create(
            issuer=issuer, kid=key.thumbprint(), public_jwk=public_jwk(key),
            private_key=key.as_pem(private=True).decode(),
        )


def public_jwk(key: OKPKey) -> dict[str, Any]:
    return {**key.as_dict(private=False), "alg": ALGORITHM, "use": "sig"}


def key_url(key: OpenBadgeSigningKey) -> str:
    """The key's public URL, which is also its ``kid``: it dereferences to the key (a JWK) and lies
    below the issuer's id URL, so a verifier can tell the key belongs to the issuer."""
    return key.issuer.absolute("openbadges-key", issuer_uuid=str(key.issuer.uuid), kid=key.kid)


def published_jwk(key: OpenBadgeSigningKey) -> dict[str, Any]:
    return {**key.public_jwk, "kid": key_url(key)}


def signing_key(issuer: OpenBadgeIssuer) -> OpenBadgeSigningKey:
    key = issuer.keys.filter(retired_at__isnull=True).order_by("-created", "-id").first()
    if key is None:
        raise NoSigningKeyError(f"Issuer {issuer} has no signing key; generate one in the admin.")
    return key


def jwk_set(issuer: OpenBadgeIssuer) -> dict[str, Any]:
    """Every key of the issuer, retired ones included (they still verify what they signed)."""
    return {"keys": [published_jwk(key) for key in issuer.keys.select_related("issuer").order_by("created", "id")]}


def sign(claims: dict[str, Any], key: OpenBadgeSigningKey) -> str:
    """A compact JWS (VC-JWT) of ``claims`` with the key's URL as ``kid`` in the header."""
    private = OKPKey.import_key(key.private_key)
    header = {"alg": ALGORITHM, "kid": key_url(key), "typ": MEDIA_TYPE}
    payload = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
    with eddsa_accepted():
        return jws.serialize_compact(header, payload, private, algorithms=[ALGORITHM])


@contextlib.contextmanager
def eddsa_accepted() -> Iterator[None]:
    """Silence joserfc's warning that RFC 9864 deprecates the ``EdDSA`` name in favour of ``Ed25519``:
    Open Badges 3.0 and today's verifiers know only ``EdDSA``, so that is what we sign and accept."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="EdDSA is deprecated")
        yield
