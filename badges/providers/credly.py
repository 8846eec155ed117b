"""Credly (Web Service API v1) for one organization: validate, list templates, issue, revoke, webhooks."""
from __future__ import annotations

import base64
import datetime
import re
from collections.abc import Iterator
from typing import Any

from badges.conf import provider_urls
from badges.providers.base import (
    BadgeProvider,
    BadgeState,
    DuplicateBadgeError,
    PermanentProviderError,
    Recipient,
    RemoteBadge,
    RemoteTemplate,
)
from badges.providers.http import ProviderHttpClient, RetryPolicy

MAX_PAGES = 1000
DUPLICATE_TEXT = re.compile(r"already|duplicate", re.IGNORECASE)
REVOKED_STATES = {BadgeState.REVOKED, BadgeState.REJECTED}


def earner_id(recipient: Recipient) -> str:
    """Our learner id as Credly's ``issuer_earner_id``: the LMS user id, else the username."""
    return str(recipient.lms_user_id) if recipient.lms_user_id is not None else recipient.username


def earner_names(recipient: Recipient) -> tuple[str, str]:
    """First and last name: the profile's, else split from the full name, else the username.

    Credly requires both; a learner with a one-word full name gets the username as last name.
    """
    words = recipient.full_name.split()
    first = recipient.first_name.strip() or (words[0] if words else "") or recipient.username
    last = recipient.last_name.strip() or " ".join(words[1:]) or recipient.username
    return first, last


class CredlyProvider(BadgeProvider):
    """One Credly organization, reached with its authorization token (HTTP Basic, empty password)."""

    origin = "credly"

    def __init__(self, *, organization_id: str, api_key: str, base_url: str | None = None,
                 policy: RetryPolicy | None = None) -> None:
        self.organization_id = str(organization_id)
        token = base64.b64encode(f"{api_key}:".encode()).decode()
        self.http = ProviderHttpClient(
            provider=self.origin,
            base_url=base_url or provider_urls("credly")["api"],
            auth_header=f"Basic {token}",
            secrets=(api_key, token),
            policy=policy,
        )

    def _path(self, suffix: str = "") -> str:
        return f"organizations/{self.organization_id}{suffix}"

    def fetch_account_name(self) -> str:
        return str(_data(self.http.get(self._path())).get("name") or "")

    def list_templates(self) -> Iterator[RemoteTemplate]:
        for item in self._pages(self._path("/badge_templates"), {"filter": "state::active"}):
            yield RemoteTemplate(
                external_id=str(item["id"]),
                name=item.get("name") or "",
                description=item.get("description") or "",
                state=item.get("state") or "active",
                image_url=item.get("image_url") or (item.get("image") or {}).get("url") or "",
            )

    def issue_badge(
        self, *, template_external_id: str, recipient: Recipient, issued_at: datetime.datetime
    ) -> RemoteBadge:
        first, last = earner_names(recipient)
        payload = {
            "recipient_email": recipient.email,
            "issued_to_first_name": first,
            "issued_to_last_name": last,
            "badge_template_id": template_external_id,
            "issued_at": issued_at.strftime("%Y-%m-%d %H:%M:%S %z"),
            "issuer_earner_id": earner_id(recipient),
        }
        try:
            body = self.http.post(self._path("/badges"), json=payload)
        except PermanentProviderError as error:
            if error.status == 422 and DUPLICATE_TEXT.search(error.detail):
                raise DuplicateBadgeError(
                    "Credly already holds this badge for this learner", status=error.status, detail=error.detail
                ) from None
            raise
        return _remote_badge(_data(body))

    def find_badge(self, *, template_external_id: str, recipient: Recipient) -> RemoteBadge | None:
        """The learner's badge of this template at Credly, preferring one that is not revoked.

        Filters server-side by template and email, then checks each item itself, so a server that
        ignores an unknown filter key cannot make us adopt someone else's badge.
        """
        ours = earner_id(recipient)
        email = recipient.email.lower()
        found = []
        query = {"filter": f"badge_template_id::{template_external_id}|recipient_email::{recipient.email}"}
        for item in self._pages(self._path("/badges"), query):
            template = item.get("badge_template") or {}
            if str(template.get("id") or item.get("badge_template_id")) != template_external_id:
                continue
            if (item.get("recipient_email") or "").lower() == email or str(item.get("issuer_earner_id")) == ours:
                found.append(item)
        if not found:
            return None
        found.sort(key=lambda item: item.get("state") in REVOKED_STATES)
        return _remote_badge(found[0])

    def revoke_badge(self, *, badge_external_id: str, reason: str) -> RemoteBadge:
        payload = {"reason": reason, "suppress_revoke_notification_email": False}
        body = self.http.put(self._path(f"/badges/{badge_external_id}/revoke"), json=payload)
        data = _data(body)
        return RemoteBadge(external_id=str(data.get("id") or badge_external_id),
                           state=data.get("state") or BadgeState.REVOKED)

    def fetch_webhook_event(self, event_id: str) -> dict[str, Any]:
        return _data(self.http.get(self._path(f"/events/{event_id}")))

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        for page in range(1, MAX_PAGES + 1):
            body = self.http.get(path, params={**params, "page": page})
            items = body.get("data") or []
            yield from items
            metadata = body.get("metadata") or {}
            more = bool(metadata.get("next_page_url")) or page < int(metadata.get("total_pages") or 1)
            if not items or not more:
                return


def _data(body: dict[str, Any]) -> dict[str, Any]:
    data = body.get("data")
    if not isinstance(data, dict):
        raise PermanentProviderError("Credly answered without a data object")
    return data


def _remote_badge(data: dict[str, Any]) -> RemoteBadge:
    if not data.get("id"):
        raise PermanentProviderError("Credly answered without a badge id")
    return RemoteBadge(external_id=str(data["id"]), state=data.get("state") or BadgeState.PENDING)
