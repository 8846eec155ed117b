"""Credly and Accredible clients over mocked HTTP: auth, pagination, retries, error classes, secrecy."""
from __future__ import annotations

import base64
import datetime
import json
import logging
import socket
import uuid

import pytest
import requests
from responses import matchers

from badges.providers.accredible import AccredibleProvider
from badges.providers.base import (
    DuplicateBadgeError,
    OutcomeUnknownError,
    PermanentProviderError,
    Recipient,
    TransientProviderError,
)
from badges.providers.credly import CredlyProvider, earner_names
from tests.providers.conftest import ACCREDIBLE_API, CREDLY_API, accredible_page, credly_page, credly_template

ORG = "0b6f0f39-1111-4c61-9d7a-5f0c2d7a9e11"
KEY = "credly-very-secret-token"
ACC_KEY = "accredible-very-secret-key"
ORG_URL = f"{CREDLY_API}organizations/{ORG}"
RECIPIENT = Recipient(username="ada", email="ada@example.com", first_name="Ada", last_name="Lovelace",
                      full_name="Ada Lovelace", lms_user_id=42)
AWARDED_AT = datetime.datetime(2026, 4, 1, 9, 41, tzinfo=datetime.UTC)


@pytest.fixture
def credly():
    provider = CredlyProvider(organization_id=ORG, api_key=KEY)
    provider.http.sleep = lambda seconds: sleeps.append(seconds)
    sleeps.clear()
    return provider


@pytest.fixture
def accredible():
    provider = AccredibleProvider(api_key=ACC_KEY)
    provider.http.sleep = lambda seconds: sleeps.append(seconds)
    sleeps.clear()
    return provider


sleeps: list[float] = []


def test_credly_sends_basic_auth_with_token_as_user_and_empty_password(credly, mocked):
    mocked.get(ORG_URL, json={"data": {"id": ORG, "name": "Acme Academy"}})
    assert credly.fetch_account_name() == "Acme Academy"
    expected = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
    assert mocked.calls[0].request.headers["Authorization"] == expected


def test_accredible_sends_documented_token_header(accredible, mocked):
    mocked.get(f"{ACCREDIBLE_API}issuer/details", json={"issuer": {"id": 7, "name": "Acme Issuer"}})
    assert accredible.fetch_account_name() == "Acme Issuer"
    assert mocked.calls[0].request.headers["Authorization"] == f"Token token={ACC_KEY}"


def test_base_url_follows_sandbox_switch(settings):
    settings.BADGES_CONFIG = {"credly": {"USE_SANDBOX": True}}
    provider = CredlyProvider(organization_id=ORG, api_key=KEY)
    assert provider.http.base_url == "https://sandbox-api.credly.com/v1/"


def test_credly_lists_active_templates_across_three_pages(credly, mocked):
    ids = [str(uuid.uuid4()) for _ in range(5)]
    pages = [[credly_template(ids[0]), credly_template(ids[1])], [credly_template(ids[2]), credly_template(ids[3])],
             [credly_template(ids[4])]]
    for number, items in enumerate(pages, start=1):
        mocked.get(f"{ORG_URL}/badge_templates", json=credly_page(items, number, 3),
                   match=[matchers.query_param_matcher({"filter": "state::active", "page": str(number)})])
    templates = list(credly.list_templates())
    assert [t.external_id for t in templates] == ids
    assert templates[2].image_url == f"https://img.test/{ids[2]}.png"
    assert len(mocked.calls) == 3


def test_accredible_lists_groups_across_three_pages_with_design_images(accredible, mocked):
    for number in (1, 2, 3):
        groups = [{"id": number * 10 + i, "name": f"Group {number}.{i}", "course_description": "About",
                   "primary_design_id": 900 + number} for i in range(2)]
        mocked.get(f"{ACCREDIBLE_API}issuer/all_groups", json=accredible_page(groups, number, 3),
                   match=[matchers.query_param_matcher({"page": str(number), "page_size": "50"})])
        mocked.get(f"{ACCREDIBLE_API}designs/{900 + number}",
                   json={"design": {"id": 900 + number, "rasterized_content_url": f"https://img.test/{number}.png"}})
    groups = list(accredible.list_templates())
    assert [g.external_id for g in groups] == ["10", "11", "20", "21", "30", "31"]
    assert groups[5].image_url == "https://img.test/3.png"
    assert groups[0].description == "About"
    # one design call per distinct design, not per group
    assert sum("designs/" in call.request.url for call in mocked.calls) == 3


@pytest.mark.parametrize("failure", [
    {"status": 503, "json": {"errors": "maintenance"}},
    {"status": 429, "json": {"errors": "slow down"}, "headers": {"Retry-After": "1"}},
    {"body": requests.exceptions.ReadTimeout("read timed out")},
    {"body": requests.exceptions.ConnectionError("refused")},
])
def test_transient_failure_is_retried_then_succeeds(credly, mocked, failure):
    mocked.get(ORG_URL, **failure)
    mocked.get(ORG_URL, json={"data": {"id": ORG, "name": "Acme"}})
    assert credly.fetch_account_name() == "Acme"
    assert len(mocked.calls) == 2
    assert len(sleeps) == 1
    if failure.get("headers"):
        assert sleeps == [1.0]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_an_issue_answered_with_an_error_is_not_repeated_in_the_call(accredible, mocked, status):
    """The provider may have done the work before answering so: the caller looks it up first."""
    mocked.post(f"{ACCREDIBLE_API}credentials", status=status, json={"errors": "try later"},
                headers={"Retry-After": "1"})
    with pytest.raises(OutcomeUnknownError) as caught:
        accredible.issue_badge(template_external_id="5", recipient=RECIPIENT, issued_at=AWARDED_AT)
    assert caught.value.status == status and caught.value.retry_after == 1.0
    assert len(mocked.calls) == 1 and sleeps == []


@pytest.mark.parametrize("status", [401, 403, 404, 422])
def test_client_errors_are_permanent_and_never_retried(credly, mocked, status):
    mocked.get(ORG_URL, status=status, json={"data": {"message": "Unauthorized"}})
    with pytest.raises(PermanentProviderError) as caught:
        credly.fetch_account_name()
    assert caught.value.status == status
    assert caught.value.detail == "Unauthorized"
    assert len(mocked.calls) == 1
    assert sleeps == []


def test_accredible_422_is_permanent_with_provider_text(accredible, mocked):
    mocked.post(f"{ACCREDIBLE_API}credentials", status=422, json={"errors": "Invalid Group"})
    with pytest.raises(PermanentProviderError) as caught:
        accredible.issue_badge(template_external_id="5", recipient=RECIPIENT, issued_at=AWARDED_AT)
    assert caught.value.status == 422
    assert "Invalid Group" in str(caught.value)
    assert not isinstance(caught.value, DuplicateBadgeError)
    assert len(mocked.calls) == 1


def test_persistent_5xx_becomes_transient_error_after_configured_attempts(credly, mocked):
    mocked.get(ORG_URL, status=502, body="Bad gateway")
    with pytest.raises(TransientProviderError) as caught:
        credly.fetch_account_name()
    assert caught.value.status == 502
    assert caught.value.detail == "Bad gateway"
    assert len(mocked.calls) == 3


def test_long_retry_after_is_not_slept_on_but_handed_to_the_caller(credly, mocked):
    mocked.get(ORG_URL, status=429, headers={"Retry-After": "120"}, json={"errors": "rate limited"})
    with pytest.raises(TransientProviderError) as caught:
        credly.fetch_account_name()
    assert caught.value.retry_after == 120.0
    assert len(mocked.calls) == 1
    assert sleeps == []


def test_keys_never_reach_logs_or_exception_texts(credly, accredible, mocked, caplog):
    caplog.set_level(logging.DEBUG)
    token = base64.b64encode(f"{KEY}:".encode()).decode()
    mocked.get(ORG_URL, status=503, json={"errors": f"bad token {KEY} / {token}"})
    mocked.get(f"{ACCREDIBLE_API}issuer/details", status=401, body=f"HTTP Token: Access denied. ({ACC_KEY})")
    with pytest.raises(TransientProviderError) as credly_error:
        credly.fetch_account_name()
    with pytest.raises(PermanentProviderError) as accredible_error:
        accredible.fetch_account_name()
    assert caplog.records, "the retries and the failure must be logged"
    texts = [caplog.text, str(credly_error.value), repr(credly_error.value), str(accredible_error.value)]
    for text in texts:
        assert KEY not in text
        assert token not in text
        assert ACC_KEY not in text
    assert "[redacted]" in str(credly_error.value)


def test_credly_issue_payload(credly, mocked):
    template_id = str(uuid.uuid4())
    badge_id = str(uuid.uuid4())
    mocked.post(f"{ORG_URL}/badges", status=201, json={"data": {"id": badge_id, "state": "pending"}})
    awarded = datetime.datetime(2026, 4, 1, 9, 41, tzinfo=datetime.timezone(datetime.timedelta(hours=-5)))
    badge = credly.issue_badge(template_external_id=template_id, recipient=RECIPIENT, issued_at=awarded)
    assert (badge.external_id, badge.state) == (badge_id, "pending")
    sent = json.loads(mocked.calls[0].request.body)
    assert sent == {
        "recipient_email": "ada@example.com", "issued_to_first_name": "Ada", "issued_to_last_name": "Lovelace",
        "badge_template_id": template_id, "issued_at": "2026-04-01 09:41:00 -0500", "issuer_earner_id": "42",
    }


def test_credly_name_fallbacks():
    bare = Recipient(username="grace", email="g@example.com", first_name="", last_name="", full_name="",
                     lms_user_id=None)
    assert earner_names(bare) == ("grace", "grace")
    from_full = Recipient(username="g", email="g@example.com", first_name="", last_name="",
                          full_name="Grace Brewster Hopper", lms_user_id=None)
    assert earner_names(from_full) == ("Grace", "Brewster Hopper")


def test_credly_duplicate_refusal_is_a_duplicate_error_and_find_badge_adopts_the_existing_one(credly, mocked):
    template_id = str(uuid.uuid4())
    existing = str(uuid.uuid4())
    mocked.post(f"{ORG_URL}/badges", status=422, json={"data": {"message": "User already has this badge"}})
    with pytest.raises(DuplicateBadgeError) as caught:
        credly.issue_badge(template_external_id=template_id, recipient=RECIPIENT, issued_at=AWARDED_AT)
    assert caught.value.status == 422
    assert len(mocked.calls) == 1
    mocked.get(f"{ORG_URL}/badges", json=credly_page([
        {"id": str(uuid.uuid4()), "state": "accepted", "badge_template": {"id": template_id},
         "recipient_email": "someone-else@example.com", "issuer_earner_id": "7"},
        {"id": str(uuid.uuid4()), "state": "revoked", "badge_template": {"id": template_id},
         "recipient_email": "ada@example.com", "issuer_earner_id": "42"},
        {"id": existing, "state": "accepted", "badge_template": {"id": template_id},
         "recipient_email": "ADA@example.com", "issuer_earner_id": "42"},
    ], 1, 1))
    found = credly.find_badge(template_external_id=template_id, recipient=RECIPIENT)
    assert (found.external_id, found.state) == (existing, "accepted")
    expected_filter = f"badge_template_id::{template_id}|recipient_email::ada@example.com"
    assert mocked.calls[1].request.params["filter"] == expected_filter


def test_credly_other_422_is_permanent_not_duplicate(credly, mocked):
    mocked.post(f"{ORG_URL}/badges", status=422, json={"data": {"message": "Badge template is archived"}})
    with pytest.raises(PermanentProviderError) as caught:
        credly.issue_badge(template_external_id=str(uuid.uuid4()), recipient=RECIPIENT, issued_at=AWARDED_AT)
    assert not isinstance(caught.value, DuplicateBadgeError)


def test_credly_find_badge_returns_none_without_match(credly, mocked):
    mocked.get(f"{ORG_URL}/badges", json=credly_page([], 1, 1))
    assert credly.find_badge(template_external_id=str(uuid.uuid4()), recipient=RECIPIENT) is None


def test_credly_revoke_sends_reason(credly, mocked):
    badge_id = str(uuid.uuid4())
    mocked.put(f"{ORG_URL}/badges/{badge_id}/revoke", json={"data": {"id": badge_id, "state": "revoked"}})
    badge = credly.revoke_badge(badge_external_id=badge_id, reason="Penalty: course failed")
    assert badge.state == "revoked"
    assert json.loads(mocked.calls[0].request.body)["reason"] == "Penalty: course failed"


def test_credly_fetch_webhook_event(credly, mocked):
    event_id = str(uuid.uuid4())
    mocked.get(f"{ORG_URL}/events/{event_id}", json={"data": {"id": event_id, "event_type": "badge.created"}})
    assert credly.fetch_webhook_event(event_id)["event_type"] == "badge.created"


def test_accredible_issue_and_expire(accredible, mocked):
    mocked.post(f"{ACCREDIBLE_API}credentials", json={"credential": {"id": 98765, "url": "https://x.test/98765"}})
    badge = accredible.issue_badge(template_external_id="12", recipient=RECIPIENT, issued_at=AWARDED_AT)
    assert (badge.external_id, badge.state) == ("98765", "accepted")
    assert json.loads(mocked.calls[0].request.body) == {"credential": {
        "recipient": {"name": "Ada Lovelace", "email": "ada@example.com", "id": 42},
        "group_id": 12, "issued_on": "2026-04-01", "complete": True,
    }}
    mocked.put(f"{ACCREDIBLE_API}credentials/98765", json={"credential": {"id": 98765}})
    expired = accredible.revoke_badge(badge_external_id="98765", reason="penalty")
    assert expired.state == "expired"
    sent = json.loads(mocked.calls[1].request.body)
    assert sent == {"credential": {"expired_on": datetime.datetime.now(datetime.UTC).date().isoformat()}}


def test_accredible_has_no_webhooks(accredible):
    with pytest.raises(NotImplementedError):
        accredible.fetch_webhook_event("x")


@pytest.mark.parametrize("failure", [
    {"body": requests.exceptions.ReadTimeout("read timed out")},
    {"body": requests.exceptions.ConnectionError("Connection aborted")},
    {"status": 500, "json": {"errors": "boom"}},
    {"status": 504, "body": "gateway timeout"},
])
def test_issue_that_may_have_happened_is_not_repeated_in_call(accredible, mocked, failure):
    mocked.post(f"{ACCREDIBLE_API}credentials", **failure)
    mocked.post(f"{ACCREDIBLE_API}credentials", json={"credential": {"id": 1}})
    with pytest.raises(OutcomeUnknownError) as caught:
        accredible.issue_badge(template_external_id="12", recipient=RECIPIENT, issued_at=AWARDED_AT)
    assert isinstance(caught.value, TransientProviderError)
    assert len(mocked.calls) == 1


def test_issue_that_certainly_did_not_happen_is_retried(credly, mocked):
    badge_id = str(uuid.uuid4())
    mocked.post(f"{ORG_URL}/badges", body=requests.exceptions.ConnectTimeout("connect timed out"))
    mocked.post(f"{ORG_URL}/badges", status=201, json={"data": {"id": badge_id, "state": "pending"}})
    badge = credly.issue_badge(template_external_id=str(uuid.uuid4()), recipient=RECIPIENT, issued_at=AWARDED_AT)
    assert badge.external_id == badge_id
    assert len(mocked.calls) == 2


def test_refused_connection_is_transient_and_retried(accredible):
    accredible.http.base_url = "http://127.0.0.1:1/v1/"
    with pytest.raises(TransientProviderError) as caught:
        accredible.issue_badge(template_external_id="12", recipient=RECIPIENT, issued_at=AWARDED_AT)
    assert not isinstance(caught.value, OutcomeUnknownError)
    assert len(sleeps) == 2


def accredible_credential(credential_id: int, *, group_id: int = 12, email: str = "ada@example.com",
                          issued_on: str = "2026-04-01", expired_on: str | None = None,
                          recipient_id: int | None = 42) -> dict:
    return {"id": credential_id, "group_id": group_id, "issued_on": issued_on, "expired_on": expired_on,
            "recipient": {"id": recipient_id, "name": "Someone", "email": email}}


def credentials_page(items: list[dict], page: int, total_pages: int) -> dict:
    return {"credentials": items, "meta": {"current_page": page, "next_page": page + 1 if page < total_pages else None,
                                           "prev_page": None, "total_pages": total_pages, "total_count": 0}}


def mock_credential_pages(mocked, pages: list[list[dict]], group_id: int = 12) -> None:
    for number, items in enumerate(pages, start=1):
        mocked.get(f"{ACCREDIBLE_API}all_credentials", json=credentials_page(items, number, len(pages)),
                   match=[matchers.query_param_matcher({"group_id": str(group_id), "email": "ada@example.com",
                                                        "page": str(number), "page_size": "50"})])


def test_accredible_find_badge_finds_the_learners_credential_on_a_later_page(accredible, mocked):
    mock_credential_pages(mocked, [
        [accredible_credential(501, email="bob@example.com", recipient_id=7),
         accredible_credential(502, group_id=99)],
        [accredible_credential(503, email="ADA@example.com")],
    ])
    found = accredible.find_badge(template_external_id="12", recipient=RECIPIENT)
    assert (found.external_id, found.state) == ("503", "accepted")
    assert len(mocked.calls) == 2
    assert mocked.calls[0].request.headers["Authorization"] == f"Token token={ACC_KEY}"


def test_accredible_find_badge_returns_none_without_credentials(accredible, mocked):
    mock_credential_pages(mocked, [[]])
    assert accredible.find_badge(template_external_id="12", recipient=RECIPIENT) is None
    assert len(mocked.calls) == 1


def test_accredible_find_badge_checks_group_and_learner_itself(accredible, mocked):
    """A server that ignored the filters must not make us adopt another group's or learner's credential."""
    mock_credential_pages(mocked, [[
        accredible_credential(601, group_id=13),
        accredible_credential(602, email="bob@example.com"),  # another email, even with our learner id
        {"id": 603, "group": {"id": 99}, "recipient": {"email": "ada@example.com"}},
        {"id": 604, "recipient": {"email": "ada@example.com"}},  # no group at all
    ]])
    assert accredible.find_badge(template_external_id="12", recipient=RECIPIENT) is None


def test_accredible_find_badge_accepts_our_learner_id_when_the_item_shows_no_email(accredible, mocked):
    mock_credential_pages(mocked, [[
        {"id": 701, "group": {"id": 12}, "issued_on": "2026-04-01", "recipient": {"id": 43}},
        {"id": 702, "group": {"id": 12}, "issued_on": "2026-04-01", "recipient": {"id": 42}},
    ]])
    assert accredible.find_badge(template_external_id="12", recipient=RECIPIENT).external_id == "702"


def test_accredible_find_badge_ignores_expired_and_prefers_the_most_recent(accredible, mocked):
    today = datetime.datetime.now(datetime.UTC).date()
    mock_credential_pages(mocked, [
        [accredible_credential(801, issued_on="2026-03-01"),
         accredible_credential(802, issued_on="2026-05-01", expired_on=today.isoformat()),
         accredible_credential(803, issued_on="2026-05-02", expired_on="not a date")],
        [accredible_credential(804, issued_on="2026-04-01",
                               expired_on=(today + datetime.timedelta(days=30)).isoformat()),
         {**accredible_credential(805, issued_on="2026-06-01"), "expired": True}],
    ])
    assert accredible.find_badge(template_external_id="12", recipient=RECIPIENT).external_id == "804"


def test_accredible_find_badge_returns_none_when_every_match_expired(accredible, mocked):
    mock_credential_pages(mocked, [[accredible_credential(901, expired_on="2020-01-01T00:00:00Z")]])
    assert accredible.find_badge(template_external_id="12", recipient=RECIPIENT) is None


@pytest.fixture
def listening_port():
    """A loopback port that accepts connections (and never answers): the call fails before reaching it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    yield server.getsockname()[1]
    server.close()


def test_key_an_http_header_cannot_carry_is_a_permanent_error_without_the_key(listening_port):
    """Accredible sends the key as is in its header (Credly's is base64, always ASCII)."""
    key = "pasted\u2019-secret-token"
    provider = AccredibleProvider(api_key=key, base_url=f"http://127.0.0.1:{listening_port}/v1/")
    with pytest.raises(PermanentProviderError) as caught:
        provider.fetch_account_name()
    text = str(caught.value)
    assert "HTTP header cannot carry" in text
    assert "secret-token" not in text and "pasted" not in text
