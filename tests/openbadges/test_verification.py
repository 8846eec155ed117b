"""``verify_open_badge`` and the verification endpoint: each kind of bad credential fails with its reason."""
from __future__ import annotations

import base64
import datetime
import json

import pytest
from django.core.management import call_command
from django.utils import timezone
from joserfc import jws
from joserfc.jwk import OKPKey

from badges.models import OpenBadgeAchievement, OpenBadgeIssuer
from badges.openbadges import baking, signing, store
from badges.openbadges.verify import HttpResolver, LocalResolver, verify_credential

pytestmark = pytest.mark.django_db


@pytest.fixture
def achievement(make_achievement) -> OpenBadgeAchievement:
    return make_achievement(valid_days=30)


def issue(achievement: OpenBadgeAchievement, username: str = "learner1", **fields):
    return store.issue_credential(achievement, username=username, email=f"{username}@example.com",
                                  issued_at=fields.get("issued_at", timezone.now()))


def parts(token: str) -> tuple[dict, dict, str]:
    header, payload, signature = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(header), decode(payload), signature


def encode(document: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


def signed_by_stranger(header: dict, claims: dict) -> str:
    stranger = OKPKey.generate_key("Ed25519", private=True)
    with signing.eddsa_accepted():
        return jws.serialize_compact(header, json.dumps(claims).encode(), stranger, algorithms=["EdDSA"])


def test_a_fresh_credential_is_valid(achievement):
    result = verify_credential(issue(achievement).signed, LocalResolver())
    assert (result.valid, result.reasons, result.revoked) == (True, [], False)
    assert result.credential["credentialSubject"]["achievement"]["name"] == "Data Analysis"


def test_tampered_payload_fails_on_the_signature(achievement):
    header, claims, signature = parts(issue(achievement).signed)
    claims["credentialSubject"]["achievement"]["name"] = "Brain Surgery"
    tampered = f"{encode(header)}.{encode(claims)}.{signature}"

    result = verify_credential(tampered, LocalResolver())

    assert not result.valid
    assert len(result.reasons) == 1
    assert result.reasons[0].startswith(f"The signature does not verify with the issuer's key {header['kid']}")


def test_signed_with_a_wrong_key_under_the_issuers_kid_fails_on_the_signature(achievement):
    header, claims, _ = parts(issue(achievement).signed)
    result = verify_credential(signed_by_stranger(header, claims), LocalResolver())
    assert not result.valid
    assert result.reasons[0].startswith(f"The signature does not verify with the issuer's key {header['kid']}")


def test_signed_with_an_unpublished_key_fails_as_unknown_key(achievement, issuer):
    header, claims, _ = parts(issue(achievement).signed)
    header["kid"] = issuer.absolute("openbadges-key", issuer_uuid=str(issuer.uuid), kid="not-a-published-key")
    result = verify_credential(signed_by_stranger(header, claims), LocalResolver())
    assert result.reasons == [f"The key {header['kid']} is not a published key of this service."]


def test_a_key_of_another_issuer_does_not_verify_this_issuers_credential(achievement, issuer, site):
    from django.contrib.sites.models import Site

    other = OpenBadgeIssuer.objects.create(site=Site.objects.create(domain="other.example", name="Other"),
                                           name="Other", url="https://other.example/", email="o@other.example",
                                           public_base_url="https://other.example")
    other_key = signing.generate_key(other)
    header, claims, _ = parts(issue(achievement).signed)
    header["kid"] = signing.key_url(other_key)
    result = verify_credential(signed_by_stranger(header, claims), LocalResolver())
    assert result.reasons == [f"The key {header['kid']} does not belong to the issuer {issuer.profile_id}."]


def test_revoked_credential_fails_as_revoked(achievement):
    credential = issue(achievement)
    other = issue(achievement, "learner2")
    store.revoke_credential(str(credential.uuid))

    result = verify_credential(credential.signed, LocalResolver())

    assert (result.valid, result.revoked) == (False, True)
    assert result.reasons == [f"The credential is revoked (bit {credential.status_index} of "
                              f"{credential.status_list.url} is set)."]
    assert verify_credential(other.signed, LocalResolver()).valid


def test_expired_credential_fails_as_expired(achievement):
    issued = timezone.now() - datetime.timedelta(days=31)
    credential = issue(achievement, issued_at=issued)
    until = parts(credential.signed)[1]["validUntil"]

    result = verify_credential(credential.signed, LocalResolver())

    assert (result.valid, result.revoked) == (False, False)
    assert result.reasons == [f"The credential expired at {until}."]


def test_credential_checked_before_its_valid_from_fails(achievement):
    credential = issue(achievement)
    earlier = timezone.now() - datetime.timedelta(days=1)
    result = verify_credential(credential.signed, LocalResolver(), now=earlier)
    assert result.reasons == [f"The credential is not valid before {parts(credential.signed)[1]['validFrom']}."]


def test_issuer_claims_that_disagree_fail(achievement):
    header, claims, _ = parts(issue(achievement).signed)
    claims["iss"] = "https://impostor.example/"
    result = verify_credential(f"{encode(header)}.{encode(claims)}.AAAA", LocalResolver())
    assert result.reasons == [f"The token's 'iss' ('https://impostor.example/') is not the credential's issuer id "
                              f"({claims['issuer']['id']!r})."]


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "e30.e30"])
def test_garbage_is_not_a_jws(garbage):
    result = verify_credential(garbage, LocalResolver())
    assert not result.valid and result.reasons[0].startswith("Not a compact JWS")


def test_endpoint_reports_validity_and_reasons(client, achievement):
    credential = issue(achievement)
    url = "/badges/openbadges/verify/"

    valid = client.post(url, credential.signed, content_type="application/vc+jwt")
    assert valid.status_code == 200 and valid.json()["valid"] is True

    store.revoke_credential(str(credential.uuid))
    revoked = client.post(url, {"credential": credential.signed}, content_type="application/json")
    assert revoked.status_code == 200
    assert revoked.json()["valid"] is False and revoked.json()["revoked"] is True

    for body in ("not a token", '{"credential": 5}', "[1]", b"\xff\xfe"):
        refused = client.post(url, body, content_type="application/json")
        assert refused.status_code == 400, body
        assert "compact VC-JWT" in refused.json()["error"]
    assert client.get(url).status_code == 405


def test_command_verifies_a_token_file_and_a_baked_image(achievement, tmp_path, capsys):
    credential = issue(achievement)
    token_file = tmp_path / "badge.jwt"
    token_file.write_text(credential.signed)
    image = tmp_path / "badge.png"
    image.write_bytes(baking.baked_png(credential.signed))

    call_command("verify_open_badge", str(token_file))
    assert "Valid: 'Data Analysis' issued by" in capsys.readouterr().out
    call_command("verify_open_badge", str(image))
    assert "Valid:" in capsys.readouterr().out

    store.revoke_credential(str(credential.uuid))
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_open_badge", str(image))
    assert exit_info.value.code == 1
    assert "Not valid:\n- The credential is revoked" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_command_fetch_verifies_over_http_from_the_published_urls(live_server, site, make_achievement, issuer,
                                                                  tmp_path, capsys):
    """Real HTTP over a socket: keys and status list come from the running server's public URLs."""
    OpenBadgeIssuer.objects.filter(pk=issuer.pk).update(public_base_url=live_server.url)
    issuer.refresh_from_db()
    credential = issue(make_achievement())
    token_file = tmp_path / "badge.jwt"
    token_file.write_text(credential.signed)

    call_command("verify_open_badge", str(token_file), "--fetch", "--json")
    assert json.loads(capsys.readouterr().out)["valid"] is True

    store.revoke_credential(str(credential.uuid))
    result = verify_credential(credential.signed, HttpResolver())
    assert result.revoked is True and not result.valid

    header, claims, _ = parts(credential.signed)
    header["kid"] = "https://attacker.example/keys/1"
    result = verify_credential(signed_by_stranger(header, claims), HttpResolver())
    assert result.reasons == [f"The key {header['kid']} is not published below the issuer's id {issuer.profile_id}."]

    header["kid"] = f"{issuer.profile_id}keys/unknown/"
    result = verify_credential(signed_by_stranger(header, claims), HttpResolver())
    assert result.reasons == [f"{header['kid']} answered HTTP 404."]
