"""Through the public signal: an award signs a credential that independent code verifies; a penalty
revokes it; a key rotation keeps it verifiable. The verifiers here are openbadgeslib's OB 3.0
verifier and PyJWT, neither written by us; they fetch the published keys and status list."""
from __future__ import annotations

import json

import jwt
import pytest
from openbadgeslib.ob3 import OB3VerificationError, OB3Verifier

from badges.models import OpenBadge, OpenBadgeCredential
from badges.openbadges import documents, store
from badges.openbadges.verify import LocalResolver, verify_credential
from tests.engine.conftest import COURSE_A, COURSE_B, learner, send_grade
from tests.openbadges.helpers import fetch, public_pem

pytestmark = pytest.mark.django_db(transaction=True)


def award(user=None) -> OpenBadge:
    send_grade(COURSE_A, user=user)
    send_grade(COURSE_B, user=user)
    return OpenBadge.objects.get(username=(user or learner()).pii.username)


def independent_verify(client, token: str, *, check_status: bool = True):
    """openbadgeslib verifies with the key our JWK Set publishes under the token's kid."""
    kid = jwt.get_unverified_header(token)["kid"]
    issuer_id = jwt.decode(token, options={"verify_signature": False})["iss"]
    keys = fetch(client, issuer_id + "jwks/").json()["keys"]
    (jwk,) = [key for key in keys if key["kid"] == kid]
    verifier = OB3Verifier(public_pem(jwk))
    return verifier.verify(token, check_status=check_status, verify_status_list=True,
                           download=lambda url: fetch(client, url).content)


def test_award_issues_a_credential_that_independent_verifiers_accept(client, make_achievement, public_events):
    achievement = make_achievement()
    badge = award()

    assert (badge.status, badge.state) == ("awarded", "accepted")
    assert [heard.uuid for heard in public_events["awarded"]] == [str(badge.uuid)]
    stored = OpenBadgeCredential.objects.get(uuid=badge.credential_uuid)
    learner_url = f"https://credentials.example.org/badges/openbadges/credentials/{stored.uuid}/"

    token = fetch(client, learner_url, "application/vc+jwt").content.decode()
    assert token == stored.signed
    enveloped = fetch(client, learner_url, "application/json").json()
    assert enveloped["type"] == "EnvelopedVerifiableCredential"
    assert enveloped["id"] == f"data:application/vc+jwt,{token}"
    page = fetch(client, learner_url).content.decode()
    assert "Data Analysis" in page and "Example University" in page and "has been revoked" not in page

    verified = independent_verify(client, token)
    assert verified.issuer.id == achievement.issuer.profile_id

    # PyJWT alone, with the key from the JWK Set: the payload is the credential itself.
    header = jwt.get_unverified_header(token)
    key = next(k for k in fetch(client, achievement.issuer.jwks_url).json()["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(token, public_pem(key), algorithms=["EdDSA"])
    assert header["alg"] == "EdDSA" and header["kid"].startswith(achievement.issuer.profile_id)
    assert claims["@context"] == [documents.VC_CONTEXT, documents.OB_CONTEXT]
    assert claims["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert claims["id"] == claims["jti"] == learner_url
    assert claims["issuer"]["id"] == claims["iss"] == achievement.issuer.profile_id
    subject = claims["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    identity = subject["identifier"][0]
    assert identity["identityHash"] == documents.hashed_email("learner1@example.com", identity["salt"])
    assert "learner1@example.com" not in json.dumps(claims)
    assert subject["achievement"]["id"] == achievement.achievement_id
    assert subject["achievement"]["criteria"] == {"narrative": "Pass courses A and B."}
    assert claims["credentialStatus"]["statusListCredential"] == stored.status_list.url

    # The published issuer profile and achievement are what the credential embeds.
    assert fetch(client, claims["iss"]).json()["name"] == "Example University"
    assert fetch(client, subject["achievement"]["id"]).json()["name"] == "Data Analysis"


def test_penalty_revokes_the_credential(client, make_achievement, add_penalty, public_events):
    achievement = make_achievement()
    first = achievement.requirements.order_by("group").first()
    add_penalty(achievement, [first], rules=[("is_passing", "eq", "false"), ("course.course_key", "eq", COURSE_A)])
    badge = award()
    token = OpenBadgeCredential.objects.get(uuid=badge.credential_uuid).signed
    independent_verify(client, token)

    send_grade(COURSE_A, is_passing=False)

    badge.refresh_from_db()
    assert (badge.status, badge.state) == ("revoked", "revoked")
    assert [heard.uuid for heard in public_events["revoked"]] == [str(badge.uuid)]
    stored = OpenBadgeCredential.objects.get(uuid=badge.credential_uuid)
    list_token = fetch(client, stored.status_list.url).content.decode()
    encoded = jwt.decode(list_token, options={"verify_signature": False})["credentialSubject"]["encodedList"]
    assert documents.bit_is_set(documents.decode_bits(encoded), stored.status_index)
    with pytest.raises(OB3VerificationError, match="status 'revocation' is set"):
        independent_verify(client, token)
    result = verify_credential(token, LocalResolver())
    assert result.revoked is True
    assert result.reasons == [f"The credential is revoked (bit {stored.status_index} of {stored.status_list.url} "
                              "is set)."]
    assert "has been revoked" in fetch(client, f"{stored.status_list.issuer.public_base_url}/badges/openbadges/"
                                               f"credentials/{stored.uuid}/").content.decode()


def test_key_rotation_keeps_old_credentials_verifiable(client, make_achievement, issuer):
    make_achievement()
    old_token = OpenBadgeCredential.objects.get(uuid=award().credential_uuid).signed
    old_kid = jwt.get_unverified_header(old_token)["kid"]

    store.rotate_signing_key(issuer)
    new_token = OpenBadgeCredential.objects.get(uuid=award(learner(2)).credential_uuid).signed

    new_kid = jwt.get_unverified_header(new_token)["kid"]
    assert new_kid != old_kid
    published = [key["kid"] for key in fetch(client, issuer.jwks_url).json()["keys"]]
    assert published == [old_kid, new_kid]
    # openbadgeslib checks a status list with the key of the credential it verifies; the list is
    # now signed with the new key, so for the old credential its list is checked by us below.
    independent_verify(client, old_token, check_status=False)
    independent_verify(client, new_token)
    assert verify_credential(old_token, LocalResolver()).valid
    assert verify_credential(new_token, LocalResolver()).valid
