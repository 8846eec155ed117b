"""TEST AND DEMO TOOLING: a local fake of the Credly and Accredible APIs, over real HTTP.

One server on 127.0.0.1 speaks the subset of both APIs the service uses, keeps everything in
memory, enforces each provider's auth and pagination and Credly's duplicate refusal, and can be
told to fail. Never point production at it.

Run it as a process (prints one JSON line with its URLs, then serves until SIGTERM/Ctrl-C)::

    python -m badges.testing.fake_provider --port 8765
    {"url": "http://127.0.0.1:8765/", "credly_api": "http://127.0.0.1:8765/credly/v1/", ...}

Point the service at it with ``BADGES_CONFIG`` (or ``FakeProvider.badges_config()``)::

    BADGES_CONFIG='{"credly": {"CREDLY_API_BASE_URL": "http://127.0.0.1:8765/credly/v1/",
                               "CREDLY_BASE_URL": "http://127.0.0.1:8765/credly/"},
                    "accredible": {"ACCREDIBLE_API_BASE_URL": "http://127.0.0.1:8765/accredible/v1/",
                                   "ACCREDIBLE_BASE_URL": "http://127.0.0.1:8765/accredible/"}}'

Provider endpoints (paths below the API bases):

- Credly (HTTP Basic, the organization's key as user name, empty password):
  ``GET organizations/{org}``; ``GET organizations/{org}/badge_templates?filter=state::active&page=N``
  (``data`` + ``metadata``); ``POST organizations/{org}/badges`` (201; 422 for missing fields,
  unknown/archived template or a duplicate: same template and same email or ``issuer_earner_id``,
  message "User already has this badge"); ``GET organizations/{org}/badges?filter=
  badge_template_id::X|recipient_email::Y|issuer_earner_id::Z|state::S&page=N``;
  ``PUT organizations/{org}/badges/{id}/revoke`` (``reason`` required); ``GET organizations/{org}/events/{id}``.
- Accredible (``Authorization: Token token=<key>``): ``GET issuer/details``;
  ``GET issuer/all_groups?page=N&page_size=M`` (``groups`` + ``meta``); ``GET designs/{id}``;
  ``POST credentials`` (422 ``Invalid Group`` for a group of another account; no duplicate refusal,
  like the real API); ``GET all_credentials?group_id=G&email=E&page=N&page_size=M`` (the account's
  credentials, filtered by group and recipient email, ``credentials`` + ``meta``);
  ``PUT credentials/{id}`` (e.g. ``expired_on``).

Control API, JSON over HTTP below ``/_fake/`` (what other processes use; :class:`FakeProviderControl`
wraps it): ``POST reset``; ``PUT settings`` ``{"per_page": N}`` (page size of both providers);
``POST credly/organizations`` ``{"id"?, "name", "api_key"}``; ``POST credly/organizations/{org}/templates``
``{"id"?, "name", "description", "state", "image_url", "allow_duplicates"}``; ``PUT``/``DELETE``
``credly/organizations/{org}/templates/{id}``; ``POST credly/organizations/{org}/events``
``{"event_type", "badge_template_id"? | "badge_id"?, "deliver_to"?}`` (stores the event and, with
``deliver_to``, POSTs the webhook notification there and reports the status); ``GET credly/badges``;
``POST accredible/accounts`` ``{"api_key", "name"}``; ``POST accredible/groups``
``{"api_key", "name", "course_description", "image_url", "id"?}``; ``DELETE accredible/groups/{id}``;
``GET accredible/credentials``; ``POST failures`` ``{"count", "status"?, "retry_after"?, "delay"?,
"path"?, "method"?}`` (the next ``count`` provider calls whose path contains ``path`` fail with
``status`` (after sleeping ``delay`` seconds, if given), or, with only ``delay``, are carried out at
once and answered ``delay`` seconds later, like a timeout whose work still happened);
``DELETE failures``; ``PUT rate_limit`` ``{"limit", "window"?}`` (at most ``limit`` provider calls
per account, the Credly organization or the Accredible key, in each fixed window of ``window``
seconds, default 1; more are answered 429 at once with ``Retry-After`` until the window ends and
logged with ``fault`` ``rate_limited``; 0: no limit); ``PUT settings`` ``{"answer_time": S}`` (every
call within the limit is answered S seconds after it arrives; calls are served concurrently, one
thread each, so the answer time does not serialize them);
``PUT chaos`` ``{"fault_rate", "timeout_delay"?, "latency"?, "seed"?}`` (every
provider call is carried out and then, with probability ``fault_rate``, answered 500, 503, 429 or
nothing for ``timeout_delay`` seconds, so the client times out on work that was done; every call
is answered ``latency`` seconds after its work, so a process can be killed while its call is in
flight); ``GET calls`` / ``DELETE calls`` (the call log: method, path, query, status, ``fault``,
``answered``; never credentials).

In Python: ``with FakeProvider() as fake:`` runs it in a thread on a free port;
``FakeProviderProcess().start()`` runs it as a subprocess (stopped by PID); both expose
``.control`` (a :class:`FakeProviderControl`) and ``.badges_config()``.
"""
from __future__ import annotations

import argparse
import base64
import datetime
import itertools
import json
import math
import os
import random
import re
import struct
import subprocess
import sys
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from badges.testing.processes import serve_until_stopped, stop_process

HOST = "127.0.0.1"
DEFAULT_PER_PAGE = 50


def badge_image_png(name: str, size: int = 64) -> bytes:
    """A round badge in a colour derived from ``name``, as a PNG (no image library needed)."""
    digest = zlib.crc32(name.encode())
    colour = bytes(((digest >> shift) & 0x7F) + 64 for shift in (0, 8, 16))
    centre, radius = (size - 1) / 2, size / 2 - 1
    rows = b"".join(
        b"\x00" + b"".join(
            colour + b"\xff" if (x - centre) ** 2 + (y - centre) ** 2 <= radius ** 2 else b"\x00\x00\x00\x00"
            for x in range(size)
        )
        for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


class HttpError(Exception):
    """Ends a request with ``status`` and a JSON (or plain text) body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


@dataclass
class FailureRule:
    count: int
    status: int | None = None
    retry_after: float | None = None
    delay: float = 0.0
    path: str = ""
    method: str = ""

    def matches(self, method: str, path: str) -> bool:
        return self.count > 0 and self.path in path and (not self.method or self.method.upper() == method)


#: What a chaos fault answers after the work was done: an HTTP status, or nothing until the client gives up.
CHAOS_FAULTS = (500, 503, 429, "timeout")


@dataclass
class Chaos:
    """Random faults after the work was done, and a delay on every answer (``PUT chaos``)."""

    fault_rate: float = 0.0
    timeout_delay: float = 0.0
    latency: float = 0.0
    rng: random.Random = field(default_factory=random.Random)

    def draw(self) -> int | str | None:
        """The fault for the next call, or None; called under the state lock (``rng`` is shared)."""
        if self.fault_rate and self.rng.random() < self.fault_rate:
            return self.rng.choice(CHAOS_FAULTS)
        return None


@dataclass
class RateLimit:
    """At most ``limit`` provider calls per account in each fixed window of ``window`` seconds (``PUT rate_limit``).

    A call over the limit is answered 429 at once, with ``Retry-After`` the whole seconds until
    its window ends, and does nothing; refused calls do not count. ``limit`` 0: no limit.
    """

    limit: int = 0
    window: float = 1.0
    counts: dict[tuple[str, int], int] = field(default_factory=dict)

    def refuse(self, account: str, now: float) -> float | None:
        """Count a call of ``account``; None when it may go on, else the seconds until its window ends.

        Called under the state lock. Only the current windows are kept.
        """
        if not self.limit:
            return None
        window = int(now // self.window)
        key = (account, window)
        if key not in self.counts:
            self.counts = {k: v for k, v in self.counts.items() if k[1] == window}
        if self.counts.get(key, 0) >= self.limit:
            return (window + 1) * self.window - now
        self.counts[key] = self.counts.get(key, 0) + 1
        return None


@dataclass
class FakeState:
    """Everything the fake knows; guarded by ``lock`` because the server is threaded."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    per_page: int = DEFAULT_PER_PAGE
    credly_orgs: dict[str, dict[str, Any]] = field(default_factory=dict)
    credly_templates: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    credly_badges: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    credly_events: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    accredible_accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    accredible_groups: dict[int, dict[str, Any]] = field(default_factory=dict)
    accredible_designs: dict[int, dict[str, Any]] = field(default_factory=dict)
    accredible_credentials: dict[int, dict[str, Any]] = field(default_factory=dict)
    failures: list[FailureRule] = field(default_factory=list)
    chaos: Chaos = field(default_factory=Chaos)
    rate_limit: RateLimit = field(default_factory=RateLimit)
    answer_time: float = 0.0
    calls: list[dict[str, Any]] = field(default_factory=list)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1001))

    def next_id(self) -> int:
        return next(self.ids)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _paginate(items: list[dict[str, Any]], page: int, per: int) -> tuple[list[dict[str, Any]], int]:
    total_pages = max(1, -(-len(items) // per))
    start = (page - 1) * per
    return items[start:start + per], total_pages


def _credly_filters(raw: str) -> dict[str, str]:
    filters = {}
    for part in raw.split("|") if raw else []:
        key, sep, value = part.partition("::")
        if sep:
            filters[key] = value
    return filters


class FakeProviderHandler(BaseHTTPRequestHandler):
    server: FakeProviderHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the call log is available through the control API."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    @property
    def state(self) -> FakeState:
        return self.server.state

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            self._reply(400, {"errors": "body is not JSON"})
            return
        if path.startswith("/_fake/"):
            self._dispatch(method, path[len("/_fake/"):], query, body, self._control_routes())
            return
        if method == "GET" and path.startswith("/static/") and path.endswith(".png"):
            self._reply_image(path)
            return
        if method == "GET" and path.startswith(("/credly/mgmt/", "/accredible/issuer/")):
            # Stands in for the provider's dashboard page that the admin links a template to.
            self._reply(200, f"Fake provider dashboard page: {path}")
            return
        self._provider_call(method, path, query, body)

    def _provider_call(self, method: str, path: str, query: dict[str, str], body: dict[str, Any]) -> None:
        record = {"method": method, "path": path, "query": query, "status": None, "time": time.time(),
                  "fault": None, "answered": False}
        with self.state.lock:
            self.state.calls.append(record)
            refused_for = self.state.rate_limit.refuse(self._account_of(path), record["time"])
        if refused_for is not None:
            record.update(status=429, fault="rate_limited", answered=True)
            self._reply(429, {"errors": "Rate limit exceeded"}, {"Retry-After": str(max(1, math.ceil(refused_for)))})
            return
        # The provider's own answer time; concurrent calls wait side by side (one thread per connection).
        time.sleep(self.state.answer_time)
        with self.state.lock:
            rule = next((r for r in self.state.failures if r.matches(method, path)), None)
            if rule:
                rule.count -= 1
            chaos = self.state.chaos
            fault = None if rule else chaos.draw()
        try:
            self._answer_provider_call(method, path, query, body, record, rule, chaos, fault)
        finally:
            record["answered"] = True

    def _account_of(self, path: str) -> str:
        """Whose limit a call counts against: the Credly organization in the path, else the API key."""
        match = re.match(r"/credly/v1/organizations/([^/]+)", path)
        return f"credly:{match.group(1).lower()}" if match else f"key:{self.headers.get('Authorization') or ''}"

    def _answer_provider_call(self, method: str, path: str, query: dict[str, str], body: dict[str, Any],
                              record: dict[str, Any], rule: FailureRule | None, chaos: Chaos,
                              fault: int | str | None) -> None:
        if rule and rule.status:
            time.sleep(rule.delay)
            headers = {"Retry-After": str(int(rule.retry_after))} if rule.retry_after is not None else {}
            record["status"] = rule.status
            self._reply(rule.status, {"errors": f"injected failure {rule.status}"}, headers)
            return
        if path.startswith("/credly/v1/"):
            routes, rest = self._credly_routes(), path[len("/credly/v1/"):]
        elif path.startswith("/accredible/v1/"):
            routes, rest = self._accredible_routes(), path[len("/accredible/v1/"):]
        else:
            routes, rest = [], path
        status, payload = self._route(method, rest, query, body, routes)
        record["status"] = status
        if rule:
            # The work is done; only the answer is late, so a client that times out missed a success.
            time.sleep(rule.delay)
        time.sleep(chaos.latency)
        record["fault"] = fault
        if fault == "timeout":
            time.sleep(chaos.timeout_delay)
        elif fault is not None:
            headers = {"Retry-After": "1"} if fault == 429 else {}
            self._reply(fault, {"errors": f"injected failure {fault} after the work was done"}, headers)
            return
        self._reply(status, payload)

    def _dispatch(self, method: str, path: str, query: dict[str, str], body: dict[str, Any],
                  routes: list[tuple[str, str, Any]]) -> int:
        status, payload = self._route(method, path, query, body, routes)
        self._reply(status, payload)
        return status

    def _route(self, method: str, path: str, query: dict[str, str], body: dict[str, Any],
               routes: list[tuple[str, str, Any]]) -> tuple[int, Any]:
        """Run the matching handler under the state lock; its (status, payload), or 404."""
        for route_method, pattern, handler in routes:
            match = re.fullmatch(pattern, path.rstrip("/"))
            if match and route_method == method:
                try:
                    with self.state.lock:
                        status, payload, *after = handler(query, body, **match.groupdict())
                    for follow_up in after:  # work that calls out (webhook delivery) runs unlocked
                        payload.update(follow_up())
                    return status, payload
                except HttpError as error:
                    return error.status, error.body
                except (ValueError, KeyError, TypeError) as error:
                    return 400, {"errors": f"bad request: {error}"}
        return 404, {"errors": "Not found"}

    def _reply(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if isinstance(payload, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _reply_image(self, path: str) -> None:
        """The image of a template the fake made up (``static/<id>.png``), so admin pages show one."""
        data = badge_image_png(path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "max-age=3600")
        self.end_headers()
        self.wfile.write(data)

    # --- Credly ------------------------------------------------------------------------------
    def _credly_routes(self) -> list[tuple[str, str, Any]]:
        org = r"organizations/(?P<org>[^/]+)"
        return [
            ("GET", org, self.credly_organization),
            ("GET", org + "/badge_templates", self.credly_list_templates),
            ("POST", org + "/badges", self.credly_issue),
            ("GET", org + "/badges", self.credly_list_badges),
            ("PUT", org + r"/badges/(?P<badge_id>[^/]+)/revoke", self.credly_revoke),
            ("GET", org + r"/events/(?P<event_id>[^/]+)", self.credly_event),
        ]

    def _credly_org(self, org: str) -> dict[str, Any]:
        record = self.state.credly_orgs.get(org.lower())
        header = self.headers.get("Authorization") or ""
        key = ""
        if header.startswith("Basic "):
            try:
                key = base64.b64decode(header[6:]).decode().partition(":")[0]
            except ValueError:
                key = ""
        if not key or not any(o["api_key"] == key for o in self.state.credly_orgs.values()):
            raise HttpError(401, {"data": {"message": "Unauthorized"}})
        if record is None:
            raise HttpError(404, {"data": {"message": "Organization not found"}})
        if record["api_key"] != key:
            raise HttpError(401, {"data": {"message": "Unauthorized"}})
        return record

    def _credly_page(self, items: list[dict[str, Any]], query: dict[str, str], path: str) -> dict[str, Any]:
        page = max(1, int(query.get("page") or 1))
        per = self.state.per_page
        chunk, total_pages = _paginate(items, page, per)
        base = f"{self.server.url}credly/v1/{path}?page="
        return {
            "data": chunk,
            "metadata": {
                "count": len(chunk),
                "current_page": page,
                "total_count": len(items),
                "total_pages": total_pages,
                "per": per,
                "previous_page_url": f"{base}{page - 1}" if page > 1 else None,
                "next_page_url": f"{base}{page + 1}" if page < total_pages else None,
            },
        }

    def credly_organization(self, query: dict, body: dict, org: str) -> tuple[int, Any]:
        record = self._credly_org(org)
        return 200, {"data": {"id": record["id"], "name": record["name"]}}

    def credly_list_templates(self, query: dict, body: dict, org: str) -> tuple[int, Any]:
        self._credly_org(org)
        states = _credly_filters(query.get("filter", "")).get("state")
        items = list(self.state.credly_templates.get(org.lower(), {}).values())
        if states:
            items = [t for t in items if t["state"] in states.split(",")]
        public = [{k: v for k, v in t.items() if k != "allow_duplicates"} for t in items]
        return 200, self._credly_page(public, query, f"organizations/{org}/badge_templates")

    def credly_issue(self, query: dict, body: dict, org: str) -> tuple[int, Any]:
        record = self._credly_org(org)
        required = ("recipient_email", "issued_to_first_name", "issued_to_last_name", "badge_template_id",
                    "issued_at")
        missing = [name for name in required if not body.get(name)]
        if missing:
            raise HttpError(422, {"data": {"message": "Validation failed",
                                           "errors": [{"attribute": m, "messages": ["can't be blank"]}
                                                      for m in missing]}})
        template = self.state.credly_templates.get(record["id"], {}).get(str(body["badge_template_id"]).lower())
        if template is None:
            raise HttpError(422, {"data": {"message": "Badge template not found"}})
        if template["state"] != "active":
            raise HttpError(422, {"data": {"message": f"Badge template is {template['state']} and cannot issue"}})
        badges = self.state.credly_badges.setdefault(record["id"], [])
        if not template["allow_duplicates"]:
            for badge in badges:
                same_person = badge["recipient_email"].lower() == body["recipient_email"].lower() or (
                    body.get("issuer_earner_id") and badge["issuer_earner_id"] == body.get("issuer_earner_id"))
                if badge["badge_template"]["id"] == template["id"] and same_person and badge["state"] != "revoked":
                    raise HttpError(422, {"data": {"message": "User already has this badge",
                                                   "errors": [{"attribute": "badge_template_id",
                                                               "messages": ["User already has this badge"]}]}})
        badge = {
            "id": str(uuid.uuid4()),
            "state": "pending",
            "badge_template": {"id": template["id"], "name": template["name"]},
            "recipient_email": body["recipient_email"],
            "issued_to_first_name": body["issued_to_first_name"],
            "issued_to_last_name": body["issued_to_last_name"],
            "issuer_earner_id": body.get("issuer_earner_id"),
            "issued_at": body["issued_at"],
            "revoke_reason": None,
            "created_at": _now(),
        }
        badges.append(badge)
        return 201, {"data": badge}

    def credly_list_badges(self, query: dict, body: dict, org: str) -> tuple[int, Any]:
        record = self._credly_org(org)
        filters = _credly_filters(query.get("filter", ""))
        items = self.state.credly_badges.get(record["id"], [])
        if "badge_template_id" in filters:
            items = [b for b in items if b["badge_template"]["id"] == filters["badge_template_id"].lower()]
        if "recipient_email" in filters:
            items = [b for b in items if b["recipient_email"].lower() == filters["recipient_email"].lower()]
        if "issuer_earner_id" in filters:
            items = [b for b in items if str(b["issuer_earner_id"]) == filters["issuer_earner_id"]]
        if "state" in filters:
            items = [b for b in items if b["state"] in filters["state"].split(",")]
        return 200, self._credly_page(items, query, f"organizations/{org}/badges")

    def credly_revoke(self, query: dict, body: dict, org: str, badge_id: str) -> tuple[int, Any]:
        record = self._credly_org(org)
        badge = next((b for b in self.state.credly_badges.get(record["id"], []) if b["id"] == badge_id), None)
        if badge is None:
            raise HttpError(404, {"data": {"message": "Badge not found"}})
        if not body.get("reason"):
            raise HttpError(422, {"data": {"message": "Reason can't be blank"}})
        badge["state"] = "revoked"
        badge["revoke_reason"] = body["reason"]
        return 200, {"data": badge}

    def credly_event(self, query: dict, body: dict, org: str, event_id: str) -> tuple[int, Any]:
        record = self._credly_org(org)
        event = self.state.credly_events.get(record["id"], {}).get(event_id)
        if event is None:
            raise HttpError(404, {"data": {"message": "Event not found"}})
        return 200, {"data": event}

    # --- Accredible --------------------------------------------------------------------------
    def _accredible_routes(self) -> list[tuple[str, str, Any]]:
        return [
            ("GET", "issuer/details", self.accredible_details),
            ("GET", "issuer/all_groups", self.accredible_groups),
            ("GET", r"designs/(?P<design_id>\d+)", self.accredible_design),
            ("POST", "credentials", self.accredible_issue),
            ("GET", "all_credentials", self.accredible_list_credentials),
            ("PUT", r"credentials/(?P<credential_id>\d+)", self.accredible_update),
        ]

    def _accredible_account(self) -> dict[str, Any]:
        header = self.headers.get("Authorization") or ""
        key = header[len("Token token="):] if header.startswith("Token token=") else ""
        account = self.state.accredible_accounts.get(key) if key else None
        if account is None:
            raise HttpError(401, "HTTP Token: Access denied.\n")
        return account

    def accredible_details(self, query: dict, body: dict) -> tuple[int, Any]:
        account = self._accredible_account()
        return 200, {"issuer": {"id": account["id"], "name": account["name"]}}

    def _accredible_page(self, key: str, items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
        page = max(1, int(query.get("page") or 1))
        per = min(int(query.get("page_size") or 20), self.state.per_page)
        chunk, total_pages = _paginate(items, page, per)
        meta = {
            "current_page": page,
            "next_page": page + 1 if page < total_pages else None,
            "prev_page": page - 1 if page > 1 else None,
            "total_pages": total_pages,
            "total_count": len(items),
        }
        return {key: chunk, "meta": meta}

    def accredible_groups(self, query: dict, body: dict) -> tuple[int, Any]:
        account = self._accredible_account()
        groups = [g for g in self.state.accredible_groups.values() if g["api_key"] == account["api_key"]]
        public = [{k: v for k, v in g.items() if k != "api_key"} for g in groups]
        return 200, self._accredible_page("groups", public, query)

    def accredible_list_credentials(self, query: dict, body: dict) -> tuple[int, Any]:
        """The account's credentials, oldest first, narrowed by ``group_id`` and ``email`` when given."""
        account = self._accredible_account()
        items = [c for c in self.state.accredible_credentials.values() if c["api_key_owner"] == account["id"]]
        if query.get("group_id"):
            items = [c for c in items if c["group_id"] == int(query["group_id"])]
        if query.get("email"):
            email = query["email"].lower()
            items = [c for c in items if str(c["recipient"].get("email") or "").lower() == email]
        public = [{k: v for k, v in c.items() if k != "api_key_owner"} for c in items]
        return 200, self._accredible_page("credentials", public, query)

    def accredible_design(self, query: dict, body: dict, design_id: str) -> tuple[int, Any]:
        account = self._accredible_account()
        design = self.state.accredible_designs.get(int(design_id))
        if design is None or design["api_key"] != account["api_key"]:
            raise HttpError(404, {"errors": "Doesn't exist"})
        return 200, {"design": {"id": design["id"], "rasterized_content_url": design["rasterized_content_url"]}}

    def accredible_issue(self, query: dict, body: dict) -> tuple[int, Any]:
        account = self._accredible_account()
        credential = body.get("credential") or {}
        group = self.state.accredible_groups.get(int(credential.get("group_id") or 0))
        if group is None or group["api_key"] != account["api_key"]:
            raise HttpError(422, {"errors": "Invalid Group"})
        recipient = credential.get("recipient") or {}
        errors = {name: ["can't be blank"] for name in ("name", "email") if not recipient.get(name)}
        if errors:
            raise HttpError(422, {"errors": {f"recipient.{k}": v for k, v in errors.items()}})
        record = {
            "id": self.state.next_id(),
            "group_id": group["id"],
            "name": credential.get("name") or group["name"],
            "recipient": recipient,
            "issued_on": credential.get("issued_on") or datetime.date.today().isoformat(),
            "expired_on": credential.get("expired_on"),
            "complete": bool(credential.get("complete")),
            "api_key_owner": account["id"],
        }
        record["url"] = f"{self.server.url}accredible/{record['id']}"
        self.state.accredible_credentials[record["id"]] = record
        return 200, {"credential": record}

    def accredible_update(self, query: dict, body: dict, credential_id: str) -> tuple[int, Any]:
        account = self._accredible_account()
        record = self.state.accredible_credentials.get(int(credential_id))
        if record is None or record["api_key_owner"] != account["id"]:
            raise HttpError(404, {"errors": "Doesn't exist"})
        changes = body.get("credential") or {}
        for name in ("expired_on", "issued_on", "name", "complete"):
            if name in changes:
                record[name] = changes[name]
        return 200, {"credential": record}

    # --- Control API -------------------------------------------------------------------------
    def _control_routes(self) -> list[tuple[str, str, Any]]:
        org = r"credly/organizations/(?P<org>[^/]+)"
        return [
            ("POST", "reset", self.control_reset),
            ("PUT", "settings", self.control_settings),
            ("POST", "credly/organizations", self.control_add_org),
            ("POST", org + "/templates", self.control_add_template),
            ("PUT", org + r"/templates/(?P<template_id>[^/]+)", self.control_update_template),
            ("DELETE", org + r"/templates/(?P<template_id>[^/]+)", self.control_delete_template),
            ("POST", org + "/events", self.control_add_event),
            ("GET", "credly/badges", self.control_credly_badges),
            ("POST", "accredible/accounts", self.control_add_account),
            ("POST", "accredible/groups", self.control_add_group),
            ("DELETE", r"accredible/groups/(?P<group_id>\d+)", self.control_delete_group),
            ("GET", "accredible/credentials", self.control_credentials),
            ("POST", "failures", self.control_add_failure),
            ("PUT", "chaos", self.control_chaos),
            ("PUT", "rate_limit", self.control_rate_limit),
            ("DELETE", "failures", self.control_clear_failures),
            ("GET", "calls", self.control_calls),
            ("DELETE", "calls", self.control_clear_calls),
        ]

    def control_reset(self, query: dict, body: dict) -> tuple[int, Any]:
        self.server.state = FakeState()
        return 200, {"reset": True}

    def control_settings(self, query: dict, body: dict) -> tuple[int, Any]:
        if "per_page" in body:
            self.state.per_page = max(1, int(body["per_page"]))
        if "answer_time" in body:
            self.state.answer_time = max(0.0, float(body["answer_time"]))
        return 200, {"per_page": self.state.per_page, "answer_time": self.state.answer_time}

    def control_rate_limit(self, query: dict, body: dict) -> tuple[int, Any]:
        limit, window = int(body.get("limit") or 0), float(body.get("window") or 1.0)
        if limit < 0 or window <= 0:
            raise HttpError(400, {"errors": "limit must be >= 0 and window > 0"})
        self.state.rate_limit = RateLimit(limit=limit, window=window)
        return 200, {"limit": limit, "window": window}

    def control_add_org(self, query: dict, body: dict) -> tuple[int, Any]:
        if not body.get("api_key"):
            raise HttpError(400, {"errors": "api_key is required"})
        org_id = str(body.get("id") or uuid.uuid4()).lower()
        self.state.credly_orgs[org_id] = {"id": org_id, "name": body.get("name") or "Fake organization",
                                          "api_key": body["api_key"]}
        self.state.credly_templates.setdefault(org_id, {})
        return 201, {"id": org_id, "name": self.state.credly_orgs[org_id]["name"]}

    def _known_org(self, org: str) -> str:
        if org.lower() not in self.state.credly_orgs:
            raise HttpError(404, {"errors": f"unknown organization {org}"})
        return org.lower()

    def control_add_template(self, query: dict, body: dict, org: str) -> tuple[int, Any]:
        org_id = self._known_org(org)
        template_id = str(body.get("id") or uuid.uuid4()).lower()
        template = {
            "id": template_id,
            "name": body.get("name") or "Fake template",
            "description": body.get("description") or "",
            "state": body.get("state") or "active",
            "image_url": body.get("image_url") or f"{self.server.url}static/{template_id}.png",
            "owner": {"id": org_id},
            "allow_duplicates": bool(body.get("allow_duplicates")),
        }
        self.state.credly_templates[org_id][template_id] = template
        return 201, template

    def control_update_template(self, query: dict, body: dict, org: str, template_id: str) -> tuple[int, Any]:
        template = self.state.credly_templates[self._known_org(org)].get(template_id.lower())
        if template is None:
            raise HttpError(404, {"errors": "unknown template"})
        template.update({k: v for k, v in body.items() if k in template and k not in {"id", "owner"}})
        return 200, template

    def control_delete_template(self, query: dict, body: dict, org: str, template_id: str) -> tuple[int, Any]:
        removed = self.state.credly_templates[self._known_org(org)].pop(template_id.lower(), None)
        if removed is None:
            raise HttpError(404, {"errors": "unknown template"})
        return 200, removed

    def control_add_event(self, query: dict, body: dict, org: str) -> tuple[int, Any]:
        org_id = self._known_org(org)
        event = {
            "id": str(body.get("id") or uuid.uuid4()),
            "organization_id": org_id,
            "event_type": body.get("event_type") or "badge_template.changed",
            "occurred_at": body.get("occurred_at") or _now(),
        }
        if body.get("badge_template_id"):
            template = self.state.credly_templates[org_id].get(str(body["badge_template_id"]).lower())
            event["badge_template"] = (
                {k: v for k, v in template.items() if k != "allow_duplicates"} if template
                else {"id": str(body["badge_template_id"]).lower()}
            )
        if body.get("badge_id"):
            badge = next((b for b in self.state.credly_badges.get(org_id, []) if b["id"] == body["badge_id"]), None)
            event["badge"] = badge or {"id": body["badge_id"]}
        self.state.credly_events.setdefault(org_id, {})[event["id"]] = event
        if not body.get("deliver_to"):
            return 201, {"event": event}
        notification = {k: event[k] for k in ("id", "organization_id", "event_type", "occurred_at")}

        def deliver() -> dict[str, Any]:
            try:
                response = requests.post(body["deliver_to"], json=notification, timeout=10)
            except requests.RequestException as error:
                return {"delivery_error": type(error).__name__}
            return {"delivery_status": response.status_code}

        return 201, {"event": event}, deliver

    def control_credly_badges(self, query: dict, body: dict) -> tuple[int, Any]:
        org = query.get("organization_id")
        badges = [b for org_id, items in self.state.credly_badges.items() if not org or org_id == org.lower()
                  for b in items]
        return 200, {"badges": badges}

    def control_add_account(self, query: dict, body: dict) -> tuple[int, Any]:
        if not body.get("api_key"):
            raise HttpError(400, {"errors": "api_key is required"})
        account = {"id": self.state.next_id(), "name": body.get("name") or "Fake issuer", "api_key": body["api_key"]}
        self.state.accredible_accounts[body["api_key"]] = account
        return 201, {"id": account["id"], "name": account["name"]}

    def control_add_group(self, query: dict, body: dict) -> tuple[int, Any]:
        if body.get("api_key") not in self.state.accredible_accounts:
            raise HttpError(404, {"errors": "unknown account api_key"})
        design_id = self.state.next_id()
        group_id = int(body.get("id") or self.state.next_id())
        self.state.accredible_designs[design_id] = {
            "id": design_id, "api_key": body["api_key"],
            "rasterized_content_url": body.get("image_url") or f"{self.server.url}static/design-{design_id}.png",
        }
        group = {
            "id": group_id,
            "name": body.get("name") or "Fake group",
            "course_name": body.get("course_name") or body.get("name") or "Fake course",
            "course_description": body.get("course_description") or "",
            "primary_design_id": design_id,
            "api_key": body["api_key"],
        }
        self.state.accredible_groups[group_id] = group
        return 201, {k: v for k, v in group.items() if k != "api_key"}

    def control_delete_group(self, query: dict, body: dict, group_id: str) -> tuple[int, Any]:
        if self.state.accredible_groups.pop(int(group_id), None) is None:
            raise HttpError(404, {"errors": "unknown group"})
        return 200, {"deleted": int(group_id)}

    def control_credentials(self, query: dict, body: dict) -> tuple[int, Any]:
        return 200, {"credentials": list(self.state.accredible_credentials.values())}

    def control_add_failure(self, query: dict, body: dict) -> tuple[int, Any]:
        rule = FailureRule(
            count=int(body.get("count") or 1),
            status=int(body["status"]) if body.get("status") else None,
            retry_after=float(body["retry_after"]) if body.get("retry_after") is not None else None,
            delay=float(body.get("delay") or 0),
            path=body.get("path") or "",
            method=body.get("method") or "",
        )
        if not rule.status and not rule.delay:
            raise HttpError(400, {"errors": "a failure needs a status or a delay"})
        self.state.failures.append(rule)
        return 201, {"count": rule.count}

    def control_chaos(self, query: dict, body: dict) -> tuple[int, Any]:
        rate = float(body.get("fault_rate") or 0)
        if not 0 <= rate <= 1:
            raise HttpError(400, {"errors": "fault_rate is a probability, from 0 to 1"})
        seed = body.get("seed")
        self.state.chaos = Chaos(fault_rate=rate, timeout_delay=float(body.get("timeout_delay") or 0),
                                 latency=float(body.get("latency") or 0), rng=random.Random(seed))
        return 200, {"fault_rate": rate}

    def control_clear_failures(self, query: dict, body: dict) -> tuple[int, Any]:
        self.state.failures.clear()
        return 200, {"cleared": True}

    def control_calls(self, query: dict, body: dict) -> tuple[int, Any]:
        return 200, {"calls": list(self.state.calls)}

    def control_clear_calls(self, query: dict, body: dict) -> tuple[int, Any]:
        self.state.calls.clear()
        return 200, {"cleared": True}


class FakeProviderHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many workers connect at once during a grade release

    def __init__(self, host: str = HOST, port: int = 0) -> None:
        self.state = FakeState()
        super().__init__((host, port), FakeProviderHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


def urls_for(url: str) -> dict[str, str]:
    """The base URLs of a fake provider listening at ``url``."""
    return {
        "url": url,
        "credly": f"{url}credly/",
        "credly_api": f"{url}credly/v1/",
        "accredible": f"{url}accredible/",
        "accredible_api": f"{url}accredible/v1/",
        "control": f"{url}_fake/",
    }


def badges_config_for(url: str) -> dict[str, Any]:
    """The ``BADGES_CONFIG`` provider blocks that point the service at a fake provider at ``url``."""
    urls = urls_for(url)
    return {
        "credly": {"CREDLY_BASE_URL": urls["credly"], "CREDLY_API_BASE_URL": urls["credly_api"],
                   "USE_SANDBOX": False},
        "accredible": {"ACCREDIBLE_BASE_URL": urls["accredible"], "ACCREDIBLE_API_BASE_URL": urls["accredible_api"],
                       "USE_SANDBOX": False},
    }


class FakeProviderControl:
    """A client for the control API, usable from any process."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.base = urls_for(url)["control"]
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              params: dict[str, Any] | None = None) -> Any:
        response = requests.request(method, self.base + path, json=body, params=params, timeout=self.timeout)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self._call("POST", "reset")

    def set_page_size(self, per_page: int) -> None:
        self._call("PUT", "settings", {"per_page": per_page})

    def add_credly_organization(self, *, api_key: str, name: str = "Fake organization",
                                organization_id: str | None = None) -> str:
        return self._call("POST", "credly/organizations", {"id": organization_id, "name": name,
                                                           "api_key": api_key})["id"]

    def add_credly_template(self, organization_id: str, *, name: str, description: str = "",
                            state: str = "active", image_url: str = "", allow_duplicates: bool = False,
                            template_id: str | None = None) -> dict[str, Any]:
        return self._call("POST", f"credly/organizations/{organization_id}/templates", {
            "id": template_id, "name": name, "description": description, "state": state,
            "image_url": image_url, "allow_duplicates": allow_duplicates,
        })

    def update_credly_template(self, organization_id: str, template_id: str, **fields: Any) -> dict[str, Any]:
        return self._call("PUT", f"credly/organizations/{organization_id}/templates/{template_id}", fields)

    def delete_credly_template(self, organization_id: str, template_id: str) -> None:
        self._call("DELETE", f"credly/organizations/{organization_id}/templates/{template_id}")

    def add_credly_event(self, organization_id: str, *, event_type: str, badge_template_id: str | None = None,
                         badge_id: str | None = None, deliver_to: str | None = None) -> dict[str, Any]:
        """Store a webhook event; with ``deliver_to``, also POST its notification there."""
        return self._call("POST", f"credly/organizations/{organization_id}/events", {
            "event_type": event_type, "badge_template_id": badge_template_id, "badge_id": badge_id,
            "deliver_to": deliver_to,
        })

    def credly_badges(self, organization_id: str | None = None) -> list[dict[str, Any]]:
        params = {"organization_id": organization_id} if organization_id else None
        return self._call("GET", "credly/badges", params=params)["badges"]

    def add_accredible_account(self, *, api_key: str, name: str = "Fake issuer") -> int:
        return self._call("POST", "accredible/accounts", {"api_key": api_key, "name": name})["id"]

    def add_accredible_group(self, *, api_key: str, name: str, course_description: str = "",
                             image_url: str = "", group_id: int | None = None) -> dict[str, Any]:
        return self._call("POST", "accredible/groups", {
            "api_key": api_key, "name": name, "course_description": course_description,
            "image_url": image_url, "id": group_id,
        })

    def delete_accredible_group(self, group_id: int) -> None:
        self._call("DELETE", f"accredible/groups/{group_id}")

    def accredible_credentials(self) -> list[dict[str, Any]]:
        return self._call("GET", "accredible/credentials")["credentials"]

    def fail_next(self, count: int = 1, *, status: int | None = None, retry_after: float | None = None,
                  delay: float = 0.0, path: str = "", method: str = "") -> None:
        """Make the next ``count`` provider calls (whose path contains ``path``) fail or stall."""
        self._call("POST", "failures", {"count": count, "status": status, "retry_after": retry_after,
                                        "delay": delay, "path": path, "method": method})

    def set_rate_limit(self, limit: int, window: float = 1.0) -> None:
        """At most ``limit`` provider calls per account in each ``window`` seconds; above it, 429 with Retry-After."""
        self._call("PUT", "rate_limit", {"limit": limit, "window": window})

    def set_answer_time(self, seconds: float) -> None:
        """Every provider call that is not refused is worked on and answered ``seconds`` after it arrives."""
        self._call("PUT", "settings", {"answer_time": seconds})

    def clear_failures(self) -> None:
        self._call("DELETE", "failures")

    def set_chaos(self, *, fault_rate: float = 0.0, timeout_delay: float = 0.0, latency: float = 0.0,
                  seed: int | None = None) -> None:
        """Random faults after the work on a share of calls, and a delay before every answer."""
        self._call("PUT", "chaos", {"fault_rate": fault_rate, "timeout_delay": timeout_delay, "latency": latency,
                                    "seed": seed})

    def calls(self) -> list[dict[str, Any]]:
        return self._call("GET", "calls")["calls"]

    def clear_calls(self) -> None:
        self._call("DELETE", "calls")


class FakeProvider:
    """The fake provider in a background thread of this process, on a free port by default."""

    def __init__(self, host: str = HOST, port: int = 0) -> None:
        self.server = FakeProviderHTTPServer(host, port)
        self._thread: threading.Thread | None = None
        self.url = self.server.url
        self.urls = urls_for(self.url)
        self.control = FakeProviderControl(self.url)

    def start(self) -> FakeProvider:
        self._thread = threading.Thread(target=self.server.serve_forever, name="fake-provider", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def badges_config(self) -> dict[str, Any]:
        return badges_config_for(self.url)

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class FakeProviderProcess:
    """The fake provider as a separate process (``python -m badges.testing.fake_provider``), stopped by PID."""

    def __init__(self, port: int = 0, python: str = sys.executable) -> None:
        self.port = port
        self.python = python
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.urls: dict[str, str] = {}

    def start(self, timeout: float = 15.0) -> FakeProviderProcess:
        self.process = subprocess.Popen(
            [self.python, "-m", "badges.testing.fake_provider", "--port", str(self.port)],
            stdout=subprocess.PIPE, text=True,
        )
        line = _read_line(self.process, timeout)
        self.urls = json.loads(line)
        self.url = self.urls["url"]
        return self

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("not started")
        return self.process.pid

    @property
    def control(self) -> FakeProviderControl:
        return FakeProviderControl(self.url)

    def badges_config(self) -> dict[str, Any]:
        return badges_config_for(self.url)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        stop_process(self.process)
        if self.process.stdout:
            self.process.stdout.close()

    def __enter__(self) -> FakeProviderProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    """The child's first stdout line, or an error if it exits or stays silent for ``timeout``."""
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not box or not box[0]:
        process.kill()
        process.wait(timeout=5)
        raise RuntimeError("the fake provider process did not report its URLs")
    return box[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the fake Credly/Accredible provider on 127.0.0.1.")
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (the default)")
    args = parser.parse_args(argv)
    server = FakeProviderHTTPServer(args.host, args.port)
    print(json.dumps({**urls_for(server.url), "pid": os.getpid()}), flush=True)
    serve_until_stopped(server)


if __name__ == "__main__":
    main()
