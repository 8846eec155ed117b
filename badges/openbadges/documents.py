"""The JSON documents of Open Badges 3.0 and the W3C Bitstring Status List, as plain data.

Pure functions (no ORM, no keys): the caller passes what the issuer, achievement and learner are,
and gets the JSON it signs or publishes. The JWT registered claims (``iss``, ``nbf``, ``jti``,
``exp``) sit beside the credential's members, as the Open Badges 3.0 VC-JWT format asks.
"""
from __future__ import annotations

import base64
import datetime
import gzip
import hashlib
from dataclasses import dataclass
from typing import Any

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
REVOCATION = "revocation"


@dataclass(frozen=True)
class IssuerProfile:
    id: str
    name: str
    url: str
    email: str
    image: str


@dataclass(frozen=True)
class Achievement:
    id: str
    name: str
    description: str
    criteria: str
    image: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class StatusEntry:
    list_url: str
    index: int


def timestamp(moment: datetime.datetime) -> str:
    """XML Schema dateTime in UTC with a Z, to the second (what VC validators expect)."""
    return moment.astimezone(datetime.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def hashed_email(email: str, salt: str) -> str:
    """The learner's email as an Open Badges hashed identity: ``sha256$`` + hex of email + salt."""
    return "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode()).hexdigest()


def image(url: str, caption: str) -> dict[str, str]:
    return {"id": url, "type": "Image", "caption": caption}


def issuer_profile(issuer: IssuerProfile) -> dict[str, Any]:
    """The issuer's ``Profile``: embedded in every credential and published at its id URL."""
    profile: dict[str, Any] = {
        "id": issuer.id, "type": ["Profile"], "name": issuer.name, "url": issuer.url, "email": issuer.email,
    }
    if issuer.image:
        profile["image"] = image(issuer.image, issuer.name)
    return profile


def achievement(achieved: Achievement) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": achieved.id,
        "type": ["Achievement"],
        "name": achieved.name,
        "description": achieved.description,
        "criteria": {"narrative": achieved.criteria},
    }
    if achieved.image:
        document["image"] = image(achieved.image, achieved.name)
    if achieved.tags:
        document["tag"] = list(achieved.tags)
    return document


def open_badge_credential(
    *, credential_id: str, issuer: IssuerProfile, achieved: Achievement, email: str, salt: str,
    valid_from: datetime.datetime, valid_until: datetime.datetime | None, status: StatusEntry,
) -> dict[str, Any]:
    """An ``OpenBadgeCredential`` whose ``AchievementSubject`` is the learner's hashed email."""
    credential: dict[str, Any] = {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": issuer_profile(issuer),
        "validFrom": timestamp(valid_from),
        "name": achieved.name,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{
                "type": "IdentityObject",
                "identityHash": hashed_email(email, salt),
                "identityType": "emailAddress",
                "hashed": True,
                "salt": salt,
            }],
            "achievement": achievement(achieved),
        },
        "credentialStatus": {
            "id": f"{status.list_url}#{status.index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": REVOCATION,
            "statusListIndex": str(status.index),
            "statusListCredential": status.list_url,
        },
        "iss": issuer.id,
        "jti": credential_id,
        "nbf": int(valid_from.timestamp()),
    }
    if valid_until is not None:
        credential["validUntil"] = timestamp(valid_until)
        credential["exp"] = int(valid_until.timestamp())
    return credential


def status_list_credential(*, list_url: str, issuer_id: str, bits: bytes,
                           valid_from: datetime.datetime) -> dict[str, Any]:
    """A ``BitstringStatusListCredential`` (revocation) with its JWT claims."""
    return {
        "@context": [VC_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_id,
        "validFrom": timestamp(valid_from),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": REVOCATION,
            "encodedList": encode_bits(bits),
        },
        "iss": issuer_id,
        "jti": list_url,
        "nbf": int(valid_from.timestamp()),
    }


def encode_bits(bits: bytes) -> str:
    """GZIP, then base64url without padding, with the multibase ``u`` prefix."""
    compressed = gzip.compress(bits, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode()


def decode_bits(encoded: str) -> bytes:
    """The raw bitstring of an ``encodedList`` (ValueError when it is not one)."""
    if not encoded.startswith("u"):
        raise ValueError("encodedList is not multibase base64url (no 'u' prefix)")
    data = encoded[1:]
    try:
        return gzip.decompress(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    except (OSError, EOFError, ValueError) as exc:
        raise ValueError(f"encodedList cannot be decoded: {exc}") from exc


def bit_is_set(bits: bytes, index: int) -> bool:
    """Bit ``index``, counting from the first byte's most significant bit (the spec's order)."""
    if not 0 <= index < len(bits) * 8:
        raise ValueError(f"status index {index} is outside the list ({len(bits) * 8} bits)")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def with_bit_set(bits: bytes, index: int) -> bytes:
    if not 0 <= index < len(bits) * 8:
        raise ValueError(f"status index {index} is outside the list ({len(bits) * 8} bits)")
    changed = bytearray(bits)
    changed[index // 8] |= 0x80 >> (index % 8)
    return bytes(changed)
