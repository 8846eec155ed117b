"""Accredible (API v1) for one API key: validate, list groups, issue, find and expire credentials."""
from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator
from typing import Any

from django.utils import timezone

from badges.conf import provider_urls
from badges.providers.base import (
    BadgeProvider,
    BadgeState,
    PermanentProviderError,
    Recipient,
    RemoteBadge,
    RemoteTemplate,
)
from badges.providers.http import ProviderHttpClient, RetryPolicy

logger = logging.getLogger(__name__)

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
        """Issue one credential; our learner id goes along as ``recipient.id`` (see :meth:`find_badge`)."""
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
        return RemoteBadge(external_id=str(int(credential["id"])), state=BadgeState.ACCEPTED)

    def find_badge(self, *, template_external_id: str, recipient: Recipient) -> RemoteBadge | None:
        """The learner's newest unexpired credential in the group, to adopt instead of issuing again.

        Accredible refuses no duplicates, so after an issue whose outcome is unknown this is the
        only guard against a second credential. The list is filtered server-side by group and
        email, and each item is checked here too, so a server that ignores a filter cannot make
        us adopt someone else's credential.
        """
        group_id = int(template_external_id)
        today = timezone.now().date()
        found = [
            credential
            for credential in self._pages("all_credentials", "credentials",
                                          {"group_id": group_id, "email": recipient.email})
            if credential.get("id") and _in_group(credential, group_id) and _issued_to(credential, recipient)
            and not _expired(credential, today)
        ]
        if not found:
            return None
        newest = max(found, key=lambda credential: (str(credential.get("issued_on") or ""), int(credential["id"])))
        return RemoteBadge(external_id=str(int(newest["id"])), state=BadgeState.ACCEPTED)

    def revoke_badge(self, *, badge_external_id: str, reason: str) -> RemoteBadge:
        """Accredible has no revoke: the credential expires today (``reason`` stays on our side)."""
        payload = {"credential": {"expired_on": timezone.now().date().isoformat()}}
        self.http.put(f"credentials/{int(badge_external_id)}", json=payload)
        return RemoteBadge(external_id=str(int(badge_external_id)), state=BadgeState.EXPIRED)

    def _groups(self) -> Iterator[dict[str, Any]]:
        return self._pages("issuer/all_groups", "groups", {})

    def _pages(self, path: str, key: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The ``key`` items of a v1 list, page after page until ``meta`` says there are no more."""
        for page in range(1, MAX_PAGES + 1):
            body = self.http.get(path, params={**params, "page": page, "page_size": PAGE_SIZE})
            items = body.get(key) or []
            yield from items
            meta = body.get("meta") or {}
            more = bool(meta.get("next_page")) or page < int(meta.get("total_pages") or 1)
            if not items or not more:
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


def _in_group(credential: dict[str, Any], group_id: int) -> bool:
    group = credential.get("group") if isinstance(credential.get("group"), dict) else {}
    value = credential.get("group_id") or group.get("id")
    return value is not None and str(value) == str(group_id)


def _issued_to(credential: dict[str, Any], recipient: Recipient) -> bool:
    """Same email; or, for an item that shows no email, our learner id as ``recipient.id``.

    An item showing another email is someone else's even if its recipient id equals our learner id.
    """
    person = credential.get("recipient") if isinstance(credential.get("recipient"), dict) else {}
    email = str(person.get("email") or "").strip().lower()
    if email:
        return email == recipient.email.strip().lower()
    return recipient.lms_user_id is not None and str(person.get("id")) == str(recipient.lms_user_id)


def _expired(credential: dict[str, Any], today: datetime.date) -> bool:
    """Expired on or before today (how :meth:`AccredibleProvider.revoke_badge` takes a badge back).

    An expiry date we cannot read counts as expired: adopting a void credential would leave the
    learner without a badge, and that cannot be noticed later.
    """
    if credential.get("expired") is True:
        return True
    value = credential.get("expired_on")
    if not value:
        return False
    try:
        return datetime.date.fromisoformat(str(value)[:10]) <= today
    except ValueError:
        logger.warning("Accredible credential %s has an unreadable expired_on; treating it as expired.",
                       credential.get("id"))
        return True
