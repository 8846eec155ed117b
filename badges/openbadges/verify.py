"""Verifying an Open Badges 3.0 VC-JWT the way an outside verifier would.

:func:`verify_credential` checks, in order: the token's form, the issuer's published key named by
``kid`` (it must lie below the issuer's id URL), the EdDSA signature, the credential's type and
issuer, its validity window, and its revocation bit in the signed status list. Each failure is a
sentence in ``reasons``. Where the issuer's keys and status lists come from is the resolver's
business: :class:`LocalResolver` reads this service's own (the endpoint; no outbound requests),
:class:`HttpResolver` fetches the published URLs (the command's ``--fetch``).
"""
from __future__ import annotations

import base64
import datetime
import json
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
import urllib3
from django.urls import Resolver404, resolve
from django.utils import timezone
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from badges.models import OpenBadgeSigningKey, OpenBadgeStatusList
from badges.openbadges import documents
from badges.openbadges.signing import ALGORITHM, eddsa_accepted, published_jwk

JWT_TYPE = "application/vc+jwt"
FETCH_TIMEOUT = 10
MAX_DOCUMENT_BYTES = 1_000_000


class ResolveError(Exception):
    """A key or status list could not be obtained; the message says which and why."""


class Resolver(Protocol):
    def key(self, issuer_id: str, kid: str) -> dict[str, Any]:
        """The public JWK ``kid`` names, if it is a key of the issuer ``issuer_id``."""

    def status_list(self, url: str) -> str:
        """The signed status list credential published at ``url``."""


@dataclass
class Verification:
    reasons: list[str] = field(default_factory=list)
    credential: dict[str, Any] | None = None
    revoked: bool | None = None

    @property
    def valid(self) -> bool:
        return not self.reasons

    def as_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "reasons": self.reasons, "revoked": self.revoked,
                "credential": self.credential}


def verify_credential(token: str, resolver: Resolver, *, now: datetime.datetime | None = None) -> Verification:
    """Verify one compact VC-JWT; ``now`` is the moment the validity window is checked at."""
    now = now or timezone.now()
    result = Verification()
    try:
        header, claims = unverified_parts(token)
    except ValueError as exc:
        result.reasons.append(f"Not a compact JWS: {exc}.")
        return result
    issuer_id = claims.get("iss")
    issuer = claims.get("issuer")
    issuer_ref = issuer.get("id") if isinstance(issuer, dict) else issuer
    if not isinstance(issuer_id, str) or issuer_id != issuer_ref:
        result.reasons.append(f"The token's 'iss' ({issuer_id!r}) is not the credential's issuer id ({issuer_ref!r}).")
        return result
    try:
        signed = verified_claims(token, header, issuer_id, resolver)
    except (ResolveError, ValueError) as exc:
        result.reasons.append(str(exc))
        return result
    result.credential = signed
    types = signed.get("type") or []
    if "OpenBadgeCredential" not in types and "AchievementCredential" not in types:
        result.reasons.append(f"The credential's type {types!r} is not OpenBadgeCredential.")
    result.reasons += validity_problems(signed, now)
    result.revoked, status_problems = revocation_status(signed, issuer_id, resolver)
    result.reasons += status_problems
    return result


def unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, not yet trusted (ValueError when the token is not a JWS of JSON objects)."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise ValueError("expected three dot-separated parts")
    try:
        header, claims = (json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))) for part in parts[:2])
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"header or payload is not base64url JSON ({exc})") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("header and payload must be JSON objects")
    return header, claims


def verified_claims(token: str, header: dict[str, Any], issuer_id: str, resolver: Resolver) -> dict[str, Any]:
    """The claims, once the signature checks out with the issuer's published key ``kid``."""
    if header.get("alg") != ALGORITHM:
        raise ValueError(f"The signature algorithm {header.get('alg')!r} is not {ALGORITHM}.")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise ValueError("The token names no key ('kid').")
    jwk = resolver.key(issuer_id, kid)
    try:
        key = OKPKey.import_key(jwk)
        with eddsa_accepted():
            payload = jws.deserialize_compact(token.strip(), key, algorithms=[ALGORITHM]).payload
    except JoseError as exc:
        raise ValueError(f"The signature does not verify with the issuer's key {kid} ({exc.error}).") from exc
    except (TypeError, ValueError) as exc:
        raise ValueError(f"The issuer's key {kid} is not a usable Ed25519 key ({exc}).") from exc
    return json.loads(payload)


def validity_problems(credential: dict[str, Any], now: datetime.datetime) -> list[str]:
    problems = []
    for name, late in (("validFrom", False), ("validUntil", True)):
        value = credential.get(name)
        if value is None:
            if name == "validFrom":
                problems.append("The credential has no validFrom.")
            continue
        try:
            moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            problems.append(f"The credential's {name} {value!r} is not a date-time.")
            continue
        if moment.tzinfo is None:
            problems.append(f"The credential's {name} {value!r} has no time zone.")
        elif late and moment <= now:
            problems.append(f"The credential expired at {value}.")
        elif not late and moment > now:
            problems.append(f"The credential is not valid before {value}.")
    return problems


def revocation_status(credential: dict[str, Any], issuer_id: str, resolver: Resolver) -> tuple[bool | None, list[str]]:
    """(revoked?, problems): the bit of the credential's revocation entry in its signed status list."""
    entry = credential.get("credentialStatus")
    if entry is None:
        return False, []
    if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry":
        return None, ["The credential's status entry is not a BitstringStatusListEntry."]
    if entry.get("statusPurpose") != documents.REVOCATION:
        return None, [f"The status purpose {entry.get('statusPurpose')!r} is not revocation."]
    url = entry.get("statusListCredential")
    try:
        index = int(entry.get("statusListIndex"))
        list_token = resolver.status_list(str(url))
        header, claims = unverified_parts(list_token)
        if claims.get("iss") != issuer_id or claims.get("issuer") != issuer_id:
            raise ValueError(f"The status list {url} is not issued by {issuer_id}.")
        status_list = verified_claims(list_token, header, issuer_id, resolver)
        if status_list.get("id") != url:
            raise ValueError(f"The status list at {url} names itself {status_list.get('id')!r}.")
        bits = documents.decode_bits(status_list["credentialSubject"]["encodedList"])
        revoked = documents.bit_is_set(bits, index)
    except (ResolveError, ValueError, TypeError, KeyError) as exc:
        return None, [f"The revocation status could not be checked: {exc}"]
    return revoked, ([f"The credential is revoked (bit {index} of {url} is set)."] if revoked else [])


def token_of(data: bytes) -> str | None:
    """The compact VC-JWT in ``data``: the token itself, ``{"credential": token}``, or the enveloped
    JSON form; None when there is none."""
    try:
        text: object = data.decode()
    except UnicodeDecodeError:
        return None
    text = text.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            return None
        text = document.get("credential") or document.get("id") if isinstance(document, dict) else None
    if isinstance(text, str) and text.startswith(f"data:{JWT_TYPE},"):
        text = text.split(",", 1)[1]
    return text if isinstance(text, str) and text.count(".") == 2 else None


def _view_kwargs(url: str, view_name: str) -> dict[str, str] | None:
    """The URL's captured values, if it is this service's ``view_name`` URL."""
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return None
    return match.kwargs if match.view_name == f"badges:{view_name}" else None


class LocalResolver:
    """This service's own issuers, keys and status lists, read from the database; an issuer or list
    id must be exactly the URL this service publishes it at."""

    def key(self, issuer_id: str, kid: str) -> dict[str, Any]:
        found = _view_kwargs(kid, "openbadges-key")
        key = None
        if found is not None:
            key = OpenBadgeSigningKey.objects.select_related("issuer").filter(
                issuer__uuid=found["issuer_uuid"], kid=found["kid"]).first()
        if key is None or published_jwk(key)["kid"] != kid:
            raise ResolveError(f"The key {kid} is not a published key of this service.")
        if key.issuer.profile_id != issuer_id:
            raise ResolveError(f"The key {kid} does not belong to the issuer {issuer_id}.")
        return key.public_jwk

    def status_list(self, url: str) -> str:
        found = _view_kwargs(url, "openbadges-status-list")
        status_list = None
        if found is not None:
            status_list = OpenBadgeStatusList.objects.select_related("issuer").filter(uuid=found["list_uuid"]).first()
        if status_list is None or status_list.url != url:
            raise ResolveError(f"{url} is not a status list of this service.")
        return status_list.signed


class HttpResolver:
    """Fetches keys and status lists from their URLs, as any verifier on the internet would."""

    def __init__(self, session: requests.Session | None = None) -> None:
        self.session = session or requests.Session()

    def key(self, issuer_id: str, kid: str) -> dict[str, Any]:
        if not kid.startswith(issuer_id.rstrip("/") + "/"):
            raise ResolveError(f"The key {kid} is not published below the issuer's id {issuer_id}.")
        try:
            return json.loads(self._get(kid, "application/jwk+json"))
        except ValueError as exc:
            raise ResolveError(f"The key at {kid} is not JSON: {exc}") from exc

    def status_list(self, url: str) -> str:
        return self._get(url, "application/vc+jwt")

    def _get(self, url: str, accept: str) -> str:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ResolveError(f"{url} is not an http(s) URL.")
        try:
            with self.session.get(url, headers={"Accept": accept}, timeout=FETCH_TIMEOUT, stream=True) as response:
                if response.status_code != 200:
                    raise ResolveError(f"{url} answered HTTP {response.status_code}.")
                body = response.raw.read(MAX_DOCUMENT_BYTES + 1, decode_content=True)
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise ResolveError(f"{url} could not be fetched: {exc}") from exc
        if len(body) > MAX_DOCUMENT_BYTES:
            raise ResolveError(f"{url} is larger than {MAX_DOCUMENT_BYTES} bytes.")
        try:
            return body.decode()
        except UnicodeDecodeError as exc:
            raise ResolveError(f"{url} is not UTF-8 text.") from exc
