"""Accredible (API v1) for one API key: validate, list groups, issue credentials, expire them."""
from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

from django.utils import timezone

from badges.conf import provider_urls
from badges.providers.base import (
    BadgeProvider,
    PermanentProviderError,
    Recipient,
    RemoteBadge,
    RemoteTemplate,
)
from badges.providers.http import ProviderHttpClient, RetryPolicy

PAGE_SIZE = 50
MAX_PAGES = 1000


def recipient_name(recipient: Recipient) -> str:
    full = recipient.full_name.strip() or f"{recipient.first_name} {recipient.last_name}".strip()
    return full or recipient.username


class AccredibleProvider(BadgeProvider):
    """One Accredible account (``Authorization: Token token=<key>``). Groups play the part of templates."""

    origin = "accredible"

    def __init__(self, *, api_key: str, base_url: str | None = None, policy: RetryPolicy | None = None) -> None:
        self.http = ProviderHttpClient(
            provider=self.origin,
            base_url=base_url or provider_urls("accredible")["api"],
            auth_header=f"Token token={api_key}",
            secrets=(api_key,),
            policy=policy,
        )

    def fetch_account_name(self) -> str:
        issuer = self.http.get("issuer/details").get("issuer") or {}
        return str(issuer.get("name") or "")

    def list_templates(self) -> Iterator[RemoteTemplate]:
        """Every group, across all pages, with the image of its primary design."""
        images: dict[Any, str] = {}
        for group in self._groups():
            design_id = group.get("primary_design_id")
            if design_id and design_id not in images:
                images[design_id] = self._design_image(design_id)
            yield RemoteTemplate(
                external_id=str(int(group["id"])),
                name=group.get("name") or group.get("course_name") or "",
                description=group.get("course_description") or group.get("description") or "",
                state="active",
                image_url=images.get(design_id, "") if design_id else "",
            )

    def issue_badge(
        self, *, template_external_id: str, recipient: Recipient, issued_at: datetime.datetime
    ) -> RemoteBadge:
        person: dict[str, Any] = {"name": recipient_name(recipient), "email": recipient.email}
        if recipient.lms_user_id is not None:
            person["id"] = recipient.lms_user_id
        payload = {
            "credential": {
                "recipient": person,
                "group_id": int(template_external_id),
                "issued_on": issued_at.date().isoformat(),
                "complete": True,
            }
        }
        credential = self.http.post("credentials", json=payload).get("credential") or {}
        if not credential.get("id"):
            raise PermanentProviderError("Accredible answered without a credential id")
        return RemoteBadge(external_id=str(int(credential["id"])), state="accepted")

    def revoke_badge(self, *, badge_external_id: str, reason: str) -> RemoteBadge:
        """Accredible has no revoke: the credential expires today (``reason`` stays on our side)."""
        payload = {"credential": {"expired_on": timezone.now().date().isoformat()}}
        self.http.put(f"credentials/{int(badge_external_id)}", json=payload)
        return RemoteBadge(external_id=str(int(badge_external_id)), state="expired")

    def _groups(self) -> Iterator[dict[str, Any]]:
        for page in range(1, MAX_PAGES + 1):
            body = self.http.get("issuer/all_groups", params={"page": page, "page_size": PAGE_SIZE})
            groups = body.get("groups") or []
            yield from groups
            meta = body.get("meta") or {}
            more = bool(meta.get("next_page")) or page < int(meta.get("total_pages") or 1)
            if not groups or not more:
                return

    def _design_image(self, design_id: Any) -> str:
        """The design's rasterized image; a missing design leaves the group without an image."""
        try:
            design = self.http.get(f"designs/{design_id}").get("design") or {}
        except PermanentProviderError as error:
            if error.status == 404:
                return ""
            raise
        return design.get("rasterized_content_url") or ""
