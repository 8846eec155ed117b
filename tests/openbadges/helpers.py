"""Reading our published documents the way an outside verifier does, through the test client."""
from __future__ import annotations

from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import serialization


def fetch(client, url: str, accept: str = "*/*"):
    """GET one of our public URLs (any host: the client talks to this service)."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    response = client.get(path, HTTP_ACCEPT=accept)
    assert response.status_code == 200, (url, response.status_code)
    return response


def public_pem(jwk: dict) -> bytes:
    """A published JWK as PEM, converted by PyJWT (not by the code under test)."""
    key = jwt.PyJWK.from_dict(jwk).key
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
