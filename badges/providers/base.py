"""The interface every badge provider implements, and the errors it raises.

Callers never talk HTTP: they get a provider for an account (:func:`badges.providers.registry`)
and call these methods. Errors are split by what the caller should do next: retry later
(:class:`TransientProviderError`) or stop until an operator acts (:class:`PermanentProviderError`).
"""
from __future__ import annotations

import abc
import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from django.db.models import TextChoices


class ProviderError(Exception):
    """A provider call failed. ``status`` is the HTTP status (None without a response)."""

    def __init__(self, message: str, *, status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail

    def __str__(self) -> str:
        text = super().__str__()
        parts = [text]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.detail:
            parts.append(self.detail)
        return ": ".join(parts)


class TransientProviderError(ProviderError):
    """Timeout, connection error, 429 or 5xx: the same call may succeed later."""

    def __init__(self, message: str, *, status: int | None = None, detail: str = "",
                 retry_after: float | None = None) -> None:
        super().__init__(message, status=status, detail=detail)
        self.retry_after = retry_after


class OutcomeUnknownError(TransientProviderError):
    """A call that creates something (POST) timed out or failed after it was sent: the provider may
    have carried it out. It is not repeated within the call; reconcile (e.g. :meth:`BadgeProvider.find_badge`,
    or Credly's duplicate refusal) before issuing again."""


class PermanentProviderError(ProviderError):
    """Bad key, unknown or archived template, invalid data: retrying cannot help until someone acts."""


class DuplicateBadgeError(PermanentProviderError):
    """The provider already holds this badge for this learner (Credly's duplicate refusal)."""


@dataclass(frozen=True)
class RemoteTemplate:
    """A template (Credly) or group (Accredible) as the provider describes it."""

    external_id: str
    name: str
    description: str
    state: str
    image_url: str


@dataclass(frozen=True)
class Recipient:
    """The learner a badge is issued to."""

    username: str
    email: str
    first_name: str
    last_name: str
    full_name: str
    lms_user_id: int | None


class BadgeState(TextChoices):
    """Where a badge stands at its provider. One set for every provider; each model lists in
    ``STATES`` the ones its provider can reach (Accredible has no pending, rejected or revoked)."""

    CREATED = "created", "created"
    NO_RESPONSE = "no_response", "no_response"
    ERROR = "error", "error"
    PENDING = "pending", "pending"
    ACCEPTED = "accepted", "accepted"
    REJECTED = "rejected", "rejected"
    REVOKED = "revoked", "revoked"
    EXPIRED = "expired", "expired"


@dataclass(frozen=True)
class RemoteBadge:
    """A badge at the provider: its ID there and its state in our vocabulary."""

    external_id: str
    state: str


class BadgeProvider(abc.ABC):
    """One provider account (a Credly organization, an Accredible API config)."""

    origin: ClassVar[str]

    @abc.abstractmethod
    def fetch_account_name(self) -> str:
        """Validate the credentials and return the account's display name."""

    @abc.abstractmethod
    def list_templates(self) -> Iterator[RemoteTemplate]:
        """Every template/group the account offers for issuing, across all pages."""

    @abc.abstractmethod
    def issue_badge(
        self, *, template_external_id: str, recipient: Recipient, issued_at: datetime.datetime
    ) -> RemoteBadge:
        """Issue one badge; raises :class:`DuplicateBadgeError` when the provider already has it."""

    @abc.abstractmethod
    def revoke_badge(self, *, badge_external_id: str, reason: str) -> RemoteBadge:
        """Revoke (Credly) or expire (Accredible) one issued badge."""

    def find_badge(self, *, template_external_id: str, recipient: Recipient) -> RemoteBadge | None:
        """The learner's existing badge for the template, to reconcile a duplicate refusal."""
        return None

    def fetch_webhook_event(self, event_id: str) -> dict[str, Any]:
        """The provider's own record of a webhook event (Credly); providers without webhooks refuse."""
        raise NotImplementedError(f"{self.origin} sends no webhooks")
