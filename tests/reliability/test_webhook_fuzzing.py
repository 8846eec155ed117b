"""Fuzzed Credly webhook bodies POSTed to the running web service over HTTP.

Every body gets a clear answer (200, or a 4xx saying what is wrong), never a 500; the service's
log shows no unhandled exception; and only bodies answered 200 leave an event behind: a refused
body stores nothing. Bodies are well-formed notices with hostile field values (lone surrogates,
NUL, control characters, nested JSON where text belongs), deeply nested JSON, and raw bytes;
the three bodies that used to answer 500 are always among them.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

import pytest
import requests
from hypothesis import example, given, settings
from hypothesis import strategies as st

from badges.models import CredlyOrganization, CredlyWebhookEvent
from tests.reliability.fuzzing import PROFILE, hostile_text, json_values
from tests.reliability.summary import ScenarioSummary
from tests.reliability.web_service import empty_redis_queue, web_service

pytestmark = pytest.mark.django_db(transaction=True)

ORGANIZATION = "5b9f1c2e-7d3a-4e8b-9c41-2f6d8a0b1e37"
SECRET = "fuzzing-webhook-secret"
MAX_EXAMPLES = 3000
ACCEPTABLE = {200, 400, 404, 413}
EVENT_TYPES = ["badge.created", "badge.state.changed", "badge.deleted", "badge_template.changed"]

uuids = st.uuids().map(str)
field_values = {
    "id": st.one_of(uuids, hostile_text, json_values),
    "organization_id": st.one_of(st.just(ORGANIZATION), st.just(ORGANIZATION.upper()), uuids, hostile_text),
    "event_type": st.one_of(st.sampled_from(EVENT_TYPES), hostile_text, json_values,
                            st.sampled_from(EVENT_TYPES).flatmap(lambda t: hostile_text.map(lambda s: t + s))),
    "occurred_at": st.one_of(st.just("2026-11-27T10:00:00.000Z"), hostile_text, json_values),
}
notices = st.fixed_dictionaries(
    {"id": uuids, "organization_id": st.just(ORGANIZATION), "event_type": st.sampled_from(EVENT_TYPES),
     "occurred_at": st.just("2026-11-27T10:00:00.000Z")},
).flatmap(lambda base: st.fixed_dictionaries({}, optional={
    name: strategy for name, strategy in field_values.items()
}).map(lambda changes: {**base, **changes})).flatmap(
    lambda notice: st.dictionaries(hostile_text, json_values, max_size=2).map(lambda extra: {**extra, **notice})
)
encoded_notices = st.one_of(
    notices.map(lambda n: json.dumps(n).encode()),  # \uXXXX escapes: surrogates and NUL arrive as JSON escapes
    notices.map(lambda n: json.dumps(n, ensure_ascii=False).encode("utf-8", "surrogatepass")),  # raw bytes
)
deeply_nested = st.integers(min_value=1, max_value=2100).map(lambda depth: b"[" * depth + b"]" * depth)
bodies = st.one_of(encoded_notices, deeply_nested, st.binary(max_size=256), json_values.map(
    lambda value: json.dumps(value).encode()))


def killer(**changes: str) -> bytes:
    notice = {"id": str(uuid.uuid4()), "organization_id": ORGANIZATION, "event_type": "badge.state.changed",
              "occurred_at": "2026-11-27T10:00:00.000Z", **changes}
    return json.dumps(notice).encode()


DEEP_NESTING = b"[" * 2000 + b"]" * 2000  # 4,000 bytes: under the size cap
LONE_SURROGATE = killer(event_type="badge.\ud800")
NUL_BYTE = killer(occurred_at="2026-11-27T10:00:00\u0000Z")


@dataclass
class Tally:
    tried: int = 0
    server_errors: list[bytes] = field(default_factory=list)
    accepted_ids: set[str] = field(default_factory=set)
    statuses: dict[int, int] = field(default_factory=dict)


def test_fuzzed_webhook_bodies_get_clear_answers_and_refused_ones_store_nothing(tmp_path):
    CredlyOrganization.objects.create(uuid=ORGANIZATION, api_key="fuzzing-credly-key")
    queue = empty_redis_queue()
    tally = Tally()
    summary = ScenarioSummary("webhook fuzzing over HTTP")
    started = time.monotonic()
    with web_service(tmp_path / "web.log", BADGES_CREDLY_WEBHOOK_SECRET=SECRET) as service:
        url = f"{service.url}/badges/credly/webhook/?token={SECRET}"

        @settings(settings.get_profile(PROFILE), max_examples=MAX_EXAMPLES)
        @given(body=bodies)
        @example(body=DEEP_NESTING)
        @example(body=LONE_SURROGATE)
        @example(body=NUL_BYTE)
        def post(body: bytes) -> None:
            response = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=30)
            tally.tried += 1
            tally.statuses[response.status_code] = tally.statuses.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                tally.server_errors.append(body)
            assert response.status_code in ACCEPTABLE, (response.status_code, body[:200])
            assert "error" in response.json() or response.json().get("event"), response.text
            if response.status_code == 200:
                tally.accepted_ids.add(response.json()["event"])

        try:
            post()
        finally:
            stored = {str(event_id) for event_id in CredlyWebhookEvent.objects.values_list("event_id", flat=True)}
            unexplained = stored - tally.accepted_ids
            summary.events = tally.tried
            summary.lost = len(unexplained) + len(tally.server_errors)
            summary.seconds = time.monotonic() - started
            summary.report()
            queue.flushdb()
        unhandled = service.unhandled_exceptions()
    print(f"webhook fuzzing: answers by status {dict(sorted(tally.statuses.items()))}")
    assert tally.server_errors == []
    assert unhandled == [], "\n".join(unhandled[:20])
    assert unexplained == set(), "events stored from bodies the service refused"
    assert stored == tally.accepted_ids, "every body answered 200 left its event"
    assert tally.statuses.get(400, 0) > 0 and tally.statuses.get(200, 0) > 0, tally.statuses
    for refused in (LONE_SURROGATE, NUL_BYTE):
        assert json.loads(refused)["id"] not in stored
