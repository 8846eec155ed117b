"""The clients against the fake provider running as a separate process (real HTTP, real sockets)."""
from __future__ import annotations

import datetime
import os
import time

import pytest
import requests

from badges.providers.accredible import AccredibleProvider
from badges.providers.base import (
    DuplicateBadgeError,
    OutcomeUnknownError,
    PermanentProviderError,
    Recipient,
    TransientProviderError,
)
from badges.providers.credly import CredlyProvider
from badges.providers.http import RetryPolicy
from badges.testing.fake_provider import FakeProvider, FakeProviderProcess

pytestmark = pytest.mark.e2e

POLICY = RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.02, max_retry_after=1.0, connect_timeout=2.0,
                     read_timeout=0.5)
ADA = Recipient(username="ada", email="ada@example.com", first_name="Ada", last_name="Lovelace",
                full_name="Ada Lovelace", lms_user_id=42)
NOW = datetime.datetime(2026, 4, 1, 9, 41, tzinfo=datetime.UTC)


@pytest.fixture(scope="module")
def process():
    with FakeProviderProcess() as fake:
        yield fake
    assert fake.process.poll() is not None, "the fake provider process must be gone after stop()"


@pytest.fixture
def control(process):
    process.control.reset()
    return process.control


def credly_for(process, org_id: str, key: str) -> CredlyProvider:
    return CredlyProvider(organization_id=org_id, api_key=key, base_url=process.urls["credly_api"], policy=POLICY)


def test_process_reports_its_urls_and_pid(process):
    assert process.urls["credly_api"].startswith("http://127.0.0.1:")
    assert process.pid != os.getpid()
    assert requests.get(process.urls["control"] + "calls", timeout=5).status_code == 200


def test_credly_issue_duplicate_reconcile_revoke_and_events(process, control):
    org_id = control.add_credly_organization(api_key="fake-key", name="Fake Org")
    template = control.add_credly_template(org_id, name="Badge")
    credly = credly_for(process, org_id, "fake-key")
    assert credly.fetch_account_name() == "Fake Org"
    with pytest.raises(PermanentProviderError) as caught:
        credly_for(process, org_id, "wrong-key").fetch_account_name()
    assert caught.value.status == 401

    issued = credly.issue_badge(template_external_id=template["id"], recipient=ADA, issued_at=NOW)
    assert issued.state == "pending"
    with pytest.raises(DuplicateBadgeError):
        credly.issue_badge(template_external_id=template["id"], recipient=ADA, issued_at=NOW)
    assert credly.find_badge(template_external_id=template["id"], recipient=ADA) == issued
    [stored] = control.credly_badges(org_id)
    assert (stored["issuer_earner_id"], stored["issued_to_last_name"]) == ("42", "Lovelace")

    revoked = credly.revoke_badge(badge_external_id=issued.external_id, reason="Course failed")
    assert revoked.state == "revoked"
    assert control.credly_badges(org_id)[0]["revoke_reason"] == "Course failed"

    event = control.add_credly_event(org_id, event_type="badge_template.changed",
                                     badge_template_id=template["id"])["event"]
    fetched = credly.fetch_webhook_event(event["id"])
    assert fetched["badge_template"]["name"] == "Badge"
    control.update_credly_template(org_id, template["id"], state="archived")
    with pytest.raises(PermanentProviderError) as archived:
        credly.issue_badge(template_external_id=template["id"], recipient=ADA, issued_at=NOW)
    assert not isinstance(archived.value, DuplicateBadgeError)


def test_injected_failures(process, control):
    org_id = control.add_credly_organization(api_key="fake-key")
    credly = credly_for(process, org_id, "fake-key")
    control.fail_next(1, status=500)
    assert credly.fetch_account_name() == "Fake organization"
    control.fail_next(2, status=429, retry_after=30)
    with pytest.raises(TransientProviderError) as limited:
        credly.fetch_account_name()
    assert limited.value.retry_after == 30.0
    control.clear_failures()
    control.fail_next(1, status=401, path="/organizations/")
    with pytest.raises(PermanentProviderError):
        credly.fetch_account_name()
    control.fail_next(2, delay=1.0)
    with pytest.raises(TransientProviderError) as timed_out:
        credly.fetch_account_name()
    assert timed_out.value.status is None
    assert "timed out" in str(timed_out.value)


def test_a_timed_out_issue_still_happened_and_is_reconciled(process, control):
    org_id = control.add_credly_organization(api_key="fake-key")
    template = control.add_credly_template(org_id, name="Badge")
    credly = credly_for(process, org_id, "fake-key")
    control.fail_next(1, delay=1.0, path="/badges", method="POST")
    with pytest.raises(OutcomeUnknownError):
        credly.issue_badge(template_external_id=template["id"], recipient=ADA, issued_at=NOW)
    deadline = time.monotonic() + 5
    while not control.credly_badges(org_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    [stored] = control.credly_badges(org_id)
    with pytest.raises(DuplicateBadgeError):
        credly.issue_badge(template_external_id=template["id"], recipient=ADA, issued_at=NOW)
    found = credly.find_badge(template_external_id=template["id"], recipient=ADA)
    assert found.external_id == stored["id"]
    assert len(control.credly_badges(org_id)) == 1


def test_chaos_faults_come_after_the_work_was_done(process, control):
    control.add_accredible_account(api_key="acc-a", name="Issuer A")
    group = control.add_accredible_group(api_key="acc-a", name="Group A")
    accredible = AccredibleProvider(api_key="acc-a", base_url=process.urls["accredible_api"], policy=POLICY)
    control.set_chaos(fault_rate=1.0, timeout_delay=1.0, seed=0)  # a seed that draws all four kinds
    failures = []
    for number in range(12):
        recipient = Recipient(username=f"l{number}", email=f"l{number}@example.com", first_name="L",
                              last_name=str(number), full_name=f"L {number}", lms_user_id=number)
        with pytest.raises(OutcomeUnknownError) as caught:
            accredible.issue_badge(template_external_id=str(group["id"]), recipient=recipient, issued_at=NOW)
        failures.append(caught.value.status)
    control.set_chaos()
    assert len(control.accredible_credentials()) == 12  # every call was carried out despite its answer
    assert set(failures) == {500, 503, 429, None}  # None: timed out
    faults = [call["fault"] for call in control.calls() if call["method"] == "POST"]
    assert sorted(map(str, faults)) == sorted(str(status or "timeout") for status in failures)


def test_accredible_issue_expire_and_group_isolation(process, control):
    control.add_accredible_account(api_key="acc-a", name="Issuer A")
    control.add_accredible_account(api_key="acc-b", name="Issuer B")
    group_a = control.add_accredible_group(api_key="acc-a", name="Group A")
    group_b = control.add_accredible_group(api_key="acc-b", name="Group B")
    accredible = AccredibleProvider(api_key="acc-a", base_url=process.urls["accredible_api"], policy=POLICY)
    assert accredible.fetch_account_name() == "Issuer A"
    assert [t.external_id for t in accredible.list_templates()] == [str(group_a["id"])]
    badge = accredible.issue_badge(template_external_id=str(group_a["id"]), recipient=ADA, issued_at=NOW)
    assert badge.state == "accepted"
    with pytest.raises(PermanentProviderError) as invalid:
        accredible.issue_badge(template_external_id=str(group_b["id"]), recipient=ADA, issued_at=NOW)
    assert "Invalid Group" in str(invalid.value)
    assert accredible.revoke_badge(badge_external_id=badge.external_id, reason="x").state == "expired"
    [credential] = control.accredible_credentials()
    assert credential["issued_on"] == "2026-04-01"
    assert credential["expired_on"] == datetime.datetime.now(datetime.UTC).date().isoformat()
    with pytest.raises(PermanentProviderError) as denied:
        list(AccredibleProvider(api_key="nope", base_url=process.urls["accredible_api"],
                                policy=POLICY).list_templates())
    assert denied.value.status == 401


def test_in_process_server_starts_and_stops():
    with FakeProvider() as fake:
        org_id = fake.control.add_credly_organization(api_key="k")
        assert requests.get(f"{fake.urls['credly_api']}organizations/{org_id}", auth=("k", ""), timeout=5).ok
    with pytest.raises(requests.ConnectionError):
        requests.get(fake.url, timeout=2)


def test_accredible_issue_that_timed_out_is_found_instead_of_issued_twice():
    """POST stalls past the read timeout, but the fake did create it: find_badge must return that one."""
    bob = Recipient(username="bob", email="bob@example.com", first_name="Bob", last_name="B", full_name="Bob B",
                    lms_user_id=7)
    with FakeProvider() as fake:
        control = fake.control
        control.add_accredible_account(api_key="acc-key")
        control.add_accredible_account(api_key="other-key")
        group = str(control.add_accredible_group(api_key="acc-key", name="Group")["id"])
        other_group = str(control.add_accredible_group(api_key="acc-key", name="Other")["id"])
        control.set_page_size(1)
        accredible = AccredibleProvider(api_key="acc-key", base_url=fake.urls["accredible_api"], policy=POLICY)
        accredible.issue_badge(template_external_id=group, recipient=bob, issued_at=NOW)
        accredible.issue_badge(template_external_id=other_group, recipient=ADA, issued_at=NOW)
        taken_back = accredible.issue_badge(template_external_id=group, recipient=ADA, issued_at=NOW)
        accredible.revoke_badge(badge_external_id=taken_back.external_id, reason="penalty")
        assert accredible.find_badge(template_external_id=group, recipient=ADA) is None

        control.fail_next(1, delay=2.0, path="/credentials", method="POST")
        with pytest.raises(OutcomeUnknownError):
            accredible.issue_badge(template_external_id=group, recipient=ADA, issued_at=NOW)
        control.clear_calls()
        found = accredible.find_badge(template_external_id=group, recipient=ADA)

        adas_in_group = [c for c in control.accredible_credentials()
                         if str(c["group_id"]) == group and c["recipient"]["email"] == ADA.email]
        unexpired = [c for c in adas_in_group if c["id"] != int(taken_back.external_id)]
        assert len(adas_in_group) == 2
        assert len(unexpired) == 1
        assert found is not None
        assert found.external_id == str(unexpired[0]["id"])
        assert unexpired[0]["recipient"]["id"] == ADA.lms_user_id
        assert len(control.accredible_credentials()) == 4
        lists = [call for call in control.calls() if call["path"].endswith("/all_credentials")]
        assert [(call["query"]["group_id"], call["query"]["email"], call["query"]["page"]) for call in lists] == [
            (group, ADA.email, "1"), (group, ADA.email, "2")]

        accredible.revoke_badge(badge_external_id=found.external_id, reason="penalty")
        assert accredible.find_badge(template_external_id=group, recipient=ADA) is None
        stranger = AccredibleProvider(api_key="other-key", base_url=fake.urls["accredible_api"], policy=POLICY)
        assert stranger.find_badge(template_external_id=group, recipient=ADA) is None
        with pytest.raises(PermanentProviderError) as denied:
            AccredibleProvider(api_key="nope", base_url=fake.urls["accredible_api"],
                               policy=POLICY).find_badge(template_external_id=group, recipient=ADA)
        assert denied.value.status == 401


def test_template_images_and_dashboard_pages_are_served():
    """The admin shows a synced template's image and links its dashboard page: neither may be a 404."""
    with FakeProvider() as fake:
        template = fake.control.add_credly_template(
            fake.control.add_credly_organization(api_key="k"), name="Pictured")
        image = requests.get(template["image_url"], timeout=10)
        assert image.status_code == 200
        assert image.headers["Content-Type"] == "image/png"
        assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
        dashboard = requests.get(f"{fake.url}credly/mgmt/organizations/x/badges/templates/y/details", timeout=10)
        assert dashboard.status_code == 200


def test_a_rate_limit_refuses_calls_over_it_per_account_with_retry_after(process, control):
    first_id = control.add_credly_organization(api_key="first-key")
    second_id = control.add_credly_organization(api_key="second-key")
    template = control.add_credly_template(first_id, name="Badge", allow_duplicates=True)
    first, second = credly_for(process, first_id, "first-key"), credly_for(process, second_id, "second-key")
    control.set_rate_limit(3, window=60)

    for _ in range(3):
        first.issue_badge(template_external_id=template["id"], recipient=ADA, issued_at=NOW)
    with pytest.raises(TransientProviderError) as limited:
        first.issue_badge(template_external_id=template["id"], recipient=ADA, issued_at=NOW)
    assert limited.value.status == 429 and 1 <= limited.value.retry_after <= 60
    assert second.fetch_account_name() == "Fake organization"  # another account has its own count
    assert len(control.credly_badges(first_id)) == 3  # the refused call did nothing
    assert [call["fault"] for call in control.calls()].count("rate_limited") == 1


def test_answer_time_delays_calls_side_by_side_not_one_after_another(process, control):
    """Eight calls answered after 0.5 s each, with a 3 s read timeout: served one at a time, some would time out."""
    from concurrent.futures import ThreadPoolExecutor

    org_id = control.add_credly_organization(api_key="fake-key")
    control.set_answer_time(0.5)
    patient = RetryPolicy(attempts=1, connect_timeout=2.0, read_timeout=3.0)

    def call(_number: int) -> str:
        client = CredlyProvider(organization_id=org_id, api_key="fake-key", base_url=process.urls["credly_api"],
                                policy=patient)
        try:
            return client.fetch_account_name()
        except TransientProviderError as error:
            return str(error)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(call, range(8)))
    assert answers == ["Fake organization"] * 8
