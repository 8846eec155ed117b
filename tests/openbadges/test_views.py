"""The public URLs: issuer profile, JWK Set, keys, achievement, status list, learner's page and image."""
from __future__ import annotations

import uuid

import pytest
from django.utils import timezone
from openbadgeslib.ob3 import OB3Verifier

from badges.openbadges import baking, documents, store
from tests.openbadges.helpers import fetch

pytestmark = pytest.mark.django_db


@pytest.fixture
def credential(make_achievement):
    return store.issue_credential(make_achievement(), username="learner1", email="learner1@example.com",
                                  issued_at=timezone.now())


def test_issuer_profile_and_jwk_set_are_published(client, issuer):
    profile = fetch(client, issuer.profile_id)
    assert profile["Content-Type"] == "application/json"
    assert profile.json() == {
        "@context": [documents.VC_CONTEXT, documents.OB_CONTEXT], "id": issuer.profile_id, "type": ["Profile"],
        "name": "Example University", "url": "https://example.org/", "email": "badges@example.org",
        "image": {"id": "https://example.org/logo.png", "type": "Image", "caption": "Example University"},
    }
    jwks = fetch(client, issuer.jwks_url)
    assert jwks["Content-Type"] == "application/jwk-set+json"
    (key,) = jwks.json()["keys"]
    assert set(key) == {"kty", "crv", "x", "kid", "alg", "use"}  # no private part ("d")
    assert (key["kty"], key["crv"], key["alg"]) == ("OKP", "Ed25519", "EdDSA")
    assert key["kid"].startswith(issuer.profile_id)
    assert fetch(client, key["kid"]).json() == key


def test_status_list_is_a_signed_bitstring_status_list_credential(client, credential):
    response = fetch(client, credential.status_list.url)
    assert response["Content-Type"] == "application/vc+jwt"
    claims = OB3Verifier._decode_unverified(response.content.decode())
    assert claims["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert claims["credentialSubject"]["statusPurpose"] == "revocation"
    bits = documents.decode_bits(claims["credentialSubject"]["encodedList"])
    assert len(bits) * 8 == 131_072 and not any(bits)


def test_baked_image_carries_the_credential_readable_by_another_implementation(client, credential):
    response = fetch(client, f"{store.credential_url(credential.achievement.issuer, credential.uuid)}image.png")
    assert response["Content-Type"] == "image/png"
    assert "attachment" in response["Content-Disposition"]
    assert OB3Verifier.extract_token_from_png(response.content) == credential.signed
    assert baking.extract_token(response.content) == credential.signed
    rebaked = baking.baked_png(credential.signed, response.content)
    assert [kind for kind, _ in baking.chunks(rebaked)].count(b"iTXt") == 1


@pytest.mark.parametrize("path", [
    "issuers/{}/", "issuers/{}/jwks/", "issuers/{}/keys/nope/", "achievements/{}/", "status/{}/",
    "credentials/{}/", "credentials/{}/image.png",
])
def test_unknown_ids_are_404(client, path):
    assert client.get("/badges/openbadges/" + path.format(uuid.uuid4())).status_code == 404


def test_unknown_format_is_404_and_writes_are_refused(client, credential):
    url = f"/badges/openbadges/credentials/{credential.uuid}/"
    assert client.get(url, {"format": "xml"}).status_code == 404
    assert client.post(url, {}).status_code == 405
    assert client.get(url, {"format": "jwt"}).content.decode() == credential.signed
