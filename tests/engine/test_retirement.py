"""Retiring a learner leaves no trace of their username, email or name in any table, keeps every row,
and a second retirement changes nothing. The learner's data arrives through the public signal."""
from __future__ import annotations

import hashlib
import io
import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse
from edx_rest_framework_extensions.auth.jwt.decoder import jwt_decode_handler
from edx_rest_framework_extensions.auth.jwt.tests.utils import generate_asymmetric_jwt_token
from jwt.algorithms import RSAAlgorithm
from rest_framework_jwt.settings import api_settings as jwt_api_settings

from badges.identity import NOT_ISSUED_AFTER_RETIREMENT, retire_learner, retired_hash
from badges.models import BadgeProgress, CredlyBadge, Fulfillment, ReceivedEvent
from badges.providers.base import PermanentProviderError, TransientProviderError
from tests.engine.conftest import COURSE_A, COURSE_B, COURSE_C, learner, send_grade

User = get_user_model()

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("retirement_salts")]

OLD = {"username": "zelda-quux", "email": "zelda.quux@example.org", "name": "Zelda Quux"}
NEW = {"username": "zq-renamed", "email": "zq.renamed@example.net", "name": "Zelda Renamed"}
PERSONAL = [*OLD.values(), *NEW.values()]
SALTS = ["an-old-salt", "the-current-salt"]


@pytest.fixture
def retirement_salts():
    with override_settings(BADGES_RETIRED_USER_SALTS=SALTS):
        yield


def every_stored_value() -> dict[tuple[str, str], list[str]]:
    """Every value of every column of every table, as text: (table, column) -> values."""
    found: dict[tuple[str, str], list[str]] = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - introspected names
            columns = [column[0] for column in cursor.description]
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    if value is not None:
                        found.setdefault((table, column), []).append(str(value))
    return found


def traces(values: list[str]) -> dict[tuple[str, str], list[str]]:
    """Where any of ``values`` appears (case-insensitively) in any stored value."""
    wanted = [value.lower() for value in values]
    return {where: [text for text in texts if any(value in text.lower() for value in wanted)]
            for where, texts in every_stored_value().items()
            if any(value in text.lower() for text in texts for value in wanted)}


@pytest.fixture
def renamed_learner_with_badges(make_credly_template, add_requirement, activate, provider):
    """Zelda earns a badge, is renamed, earns a second (refused by the provider, its reason naming her
    new email) and has progress on a third; one event of hers failed and waits for the sweep."""
    templates = []
    for name, courses in (("One", [COURSE_A]), ("Two", [COURSE_B]), ("Three", [COURSE_A, COURSE_C])):
        template = make_credly_template(name=name)
        for course in courses:
            add_requirement(template, rules=[("course.course_key", "eq", course), ("is_passing", "eq", "true")])
        templates.append(activate(template))
    send_grade(COURSE_A, user=learner(7, **OLD))
    provider.failures.append(PermanentProviderError(f"Recipient {NEW['email']} ({NEW['name']}) is not allowed"))
    send_grade(COURSE_B, user=learner(7, **NEW))
    send_grade(COURSE_B, user=learner(8))  # another learner, untouched
    assert traces(PERSONAL), "the learner's data must be stored before retirement for the scan to mean anything"
    return templates


def test_retiring_leaves_no_trace_of_the_learner_in_any_table(renamed_learner_with_badges, provider):
    counts_before = (BadgeProgress.objects.count(), Fulfillment.objects.count(), CredlyBadge.objects.count(),
                     ReceivedEvent.objects.count(), User.objects.count())
    states_before = sorted(CredlyBadge.objects.values_list("status", "state"))

    result = retire_learner(lms_user_id=1007)

    assert result.changed and result.users == 1 and result.badges == 2 and result.progress == 3
    assert traces(PERSONAL) == {}
    retired = f"retired__user_{retired_hash(NEW['username'])}"
    assert len(retired) == len("retired__user_") + 40
    assert set(BadgeProgress.objects.filter(lms_user_id=1007).values_list("username", flat=True)) == {retired}
    user = User.objects.get(lms_user_id=1007)
    assert (user.username, user.email, user.full_name, user.is_active) == (
        retired, f"retired__user_{retired_hash(NEW['username'])}@retired.invalid", "", False)
    assert (BadgeProgress.objects.count(), Fulfillment.objects.count(), CredlyBadge.objects.count(),
            ReceivedEvent.objects.count(), User.objects.count()) == counts_before
    assert sorted(CredlyBadge.objects.values_list("status", "state")) == states_before
    assert CredlyBadge.objects.get(username="learner8").state == "pending"
    assert User.objects.get(username="learner8").email == "learner8@example.com"


def test_retired_hash_is_the_lms_scheme():
    """SHA-1 of the current (last) salt followed by the lowercased username, as the LMS computes it."""
    expected = hashlib.sha1(b"the-current-salt" + b"zelda-quux").hexdigest()  # noqa: S324 - the LMS's scheme
    assert retired_hash("Zelda-Quux") == retired_hash("zelda-quux") == expected
    assert expected != hashlib.sha1(b"an-old-salt" + b"zelda-quux").hexdigest()  # noqa: S324


def test_a_second_retirement_is_a_no_op(renamed_learner_with_badges):
    retire_learner(username=NEW["username"])
    stored = every_stored_value()

    assert not retire_learner(lms_user_id=1007).changed
    assert not retire_learner(username=NEW["username"]).changed
    assert not retire_learner(username=OLD["username"]).changed
    assert every_stored_value() == stored


@pytest.mark.parametrize("username", [NEW["username"], OLD["username"]])
def test_retiring_by_either_username_finds_every_name_the_learner_had(renamed_learner_with_badges, username):
    assert retire_learner(username=username).progress == 3
    assert traces(PERSONAL) == {}


def test_a_badge_not_yet_at_the_provider_is_not_issued_to_the_retired_address(
        make_credly_template, add_requirement, activate, provider):
    template = make_credly_template(name="Waiting")
    add_requirement(template, rules=[("course.course_key", "eq", COURSE_A)])
    activate(template)
    provider.failures.append(TransientProviderError("Credly is down"))
    send_grade(COURSE_A, user=learner(7, **OLD))
    assert CredlyBadge.objects.get().state == "no_response"

    retire_learner(lms_user_id=1007)

    badge = CredlyBadge.objects.get()
    assert (badge.state, badge.provider_error, badge.next_attempt_at) == ("error", NOT_ISSUED_AFTER_RETIREMENT, None)


def test_the_command_retires_once_then_reports_nothing_to_do(renamed_learner_with_badges):
    out = io.StringIO()
    call_command("retire_learner", "--lms-user-id", "1007", stdout=out)
    assert "Retired: 1 user record(s), 3 progress row(s), 2 badge record(s)" in out.getvalue()
    call_command("retire_learner", "--username", OLD["username"], stdout=out)
    assert "Nothing to retire" in out.getvalue()
    assert traces(PERSONAL) == {}


def test_the_command_refuses_to_retire_without_salts(renamed_learner_with_badges):
    with override_settings(BADGES_RETIRED_USER_SALTS=[]), pytest.raises(CommandError, match="RETIRED_USER_SALTS"):
        call_command("retire_learner", "--lms-user-id", "1007")
    assert BadgeProgress.objects.filter(username=NEW["username"]).count() == 3


URL = "/api/badges/v1/retirement/"


def test_the_endpoint_retires_for_staff_and_is_idempotent(renamed_learner_with_badges, staff_client):
    assert reverse("badges-api:retire-learner") == URL
    first = staff_client.post(URL, {"lms_user_id": 1007}, content_type="application/json")
    assert first.status_code == 200 and first.json()["retired"] is True and first.json()["badges"] == 2
    again = staff_client.post(URL, {"username": NEW["username"]}, content_type="application/json")
    assert again.status_code == 200 and again.json() == {
        "retired": False, "users": 0, "progress": 0, "badges": 0, "events": 0}
    assert traces(PERSONAL) == {}


def test_the_endpoint_accepts_the_retirement_service_user(renamed_learner_with_badges, client):
    client.force_login(User.objects.create_user("retirement_service_worker", password="x"))
    response = client.post(URL, {"username": OLD["username"]}, content_type="application/json")
    assert response.status_code == 200 and response.json()["retired"] is True


def test_the_endpoint_refuses_others_and_bad_requests(renamed_learner_with_badges, staff_client):
    client = Client()
    assert client.post(URL, {"lms_user_id": 1007}, content_type="application/json").status_code in (401, 403)
    client.force_login(User.objects.create_user("someone", password="x"))
    assert client.post(URL, {"lms_user_id": 1007}, content_type="application/json").status_code == 403
    for body in ({}, {"lms_user_id": "seven"}, {"lms_user_id": -1}, {"username": ""}):
        assert staff_client.post(URL, body, content_type="application/json").status_code == 400, body
    assert BadgeProgress.objects.filter(username=NEW["username"]).count() == 3


def test_admin_search_by_an_old_username_finds_nothing_after_retirement(renamed_learner_with_badges, staff_client):
    pages = [reverse("admin:badges_badgeprogress_changelist"), reverse("admin:badges_credlybadge_changelist")]

    def found(page: str, name: str) -> int:
        return staff_client.get(page, {"q": name}).context["cl"].result_count

    assert [found(page, NEW["username"]) for page in pages] == [3, 2]
    retire_learner(lms_user_id=1007)
    assert [found(page, name) for page in pages for name in (OLD["username"], NEW["username"])] == [0, 0, 0, 0]
    retired = BadgeProgress.objects.filter(lms_user_id=1007).values_list("username", flat=True).first()
    assert [found(page, retired) for page in pages] == [3, 2]


@pytest.fixture
def lms_jwt_settings(monkeypatch):
    """JWT settings as the LMS's asymmetric signing key would give them, with a key made for the test.

    drf-jwt reads ``JWT_AUTH`` once, when it is imported, so what it reads is set on its settings too.
    """
    monkeypatch.setattr(jwt_api_settings, "JWT_AUTH_HEADER_PREFIX", "JWT")
    monkeypatch.setattr(jwt_api_settings, "JWT_DECODE_HANDLER", jwt_decode_handler)
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_jwk = json.loads(RSAAlgorithm.to_jwk(private_key))
    public_jwk = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    jwt_auth = {
        "JWT_ISSUERS": [{"ISSUER": "http://lms.test/oauth2", "AUDIENCE": "lms-key", "SECRET_KEY": "unused"}],
        "JWT_ISSUER": "http://lms.test/oauth2", "JWT_AUDIENCE": "lms-key", "JWT_SECRET_KEY": "unused",
        "JWT_SIGNING_ALGORITHM": "RS512", "JWT_AUTH_HEADER_PREFIX": "JWT",
        "JWT_DECODE_HANDLER": "edx_rest_framework_extensions.auth.jwt.decoder.jwt_decode_handler",
        "JWT_PRIVATE_SIGNING_JWK": json.dumps({**private_jwk, "kid": "test"}),
        "JWT_PUBLIC_SIGNING_JWK_SET": json.dumps({"keys": [{**public_jwk, "kid": "test"}]}),
    }
    with override_settings(JWT_AUTH=jwt_auth):
        yield


def lms_token(username: str, administrator: bool = False) -> str:
    now = int(time.time())
    payload = {"iss": "http://lms.test/oauth2", "aud": "lms-key", "preferred_username": username,
               "email": f"{username}@lms.test", "iat": now, "exp": now + 600, "scopes": [], "version": "1.2.0",
               "filters": [], "is_restricted": False, "administrator": administrator}
    return generate_asymmetric_jwt_token(payload)


def test_the_endpoint_accepts_the_retirement_service_users_jwt(renamed_learner_with_badges, lms_jwt_settings):
    client = Client()
    response = client.post(URL, {"lms_user_id": 1007}, content_type="application/json",
                           HTTP_AUTHORIZATION=f"JWT {lms_token('retirement_service_worker')}")
    assert response.status_code == 200, response.content
    assert response.json()["retired"] is True and traces(PERSONAL) == {}


def test_the_endpoint_refuses_a_jwt_of_a_learner(renamed_learner_with_badges, lms_jwt_settings):
    response = Client().post(URL, {"lms_user_id": 1007}, content_type="application/json",
                             HTTP_AUTHORIZATION=f"JWT {lms_token('learner8')}")
    assert response.status_code == 403
    assert BadgeProgress.objects.filter(username=NEW["username"]).count() == 3
