"""Self-issued Open Badges 3.0 behind the provider interface: the "provider" is this service.

Issuing signs and stores an ``OpenBadgeCredential``; revoking sets its bit in the issuer's
status list. Both run in the caller's transaction, so they cannot time out half-way: errors are
permanent (an operator must act: generate a signing key, give the learner an email).
"""
from __future__ import annotations

import datetime
from collections.abc import Iterator

from badges.models import OpenBadgeAchievement, OpenBadgeCredential, OpenBadgeIssuer
from badges.openbadges import store
from badges.openbadges.signing import NoSigningKeyError
from badges.providers.base import (
    BadgeProvider,
    BadgeState,
    PermanentProviderError,
    Recipient,
    RemoteBadge,
    RemoteTemplate,
)


class OpenBadgesProvider(BadgeProvider):
    """One issuer profile (one site): its achievements, its keys, its status lists."""

    origin = "openbadges"

    def __init__(self, issuer: OpenBadgeIssuer) -> None:
        self.issuer = issuer

    def fetch_account_name(self) -> str:
        return self.issuer.name

    def list_templates(self) -> Iterator[RemoteTemplate]:
        """Achievements are created in the admin, not pulled: these are the ones already defined."""
        for achievement in self.issuer.achievements.order_by("pk"):
            yield RemoteTemplate(external_id=str(achievement.uuid), name=achievement.name,
                                 description=achievement.description, state=achievement.state,
                                 image_url=achievement.icon)

    def issue_badge(self, *, template_external_id: str, recipient: Recipient,
                    issued_at: datetime.datetime) -> RemoteBadge:
        achievement = OpenBadgeAchievement.objects.filter(uuid=template_external_id, issuer=self.issuer).first()
        if achievement is None:
            raise PermanentProviderError(f"Issuer {self.issuer} has no achievement {template_external_id}")
        if not recipient.email:
            raise PermanentProviderError(f"Learner {recipient.username} has no email to identify them by")
        try:
            credential = store.issue_credential(achievement, username=recipient.username, email=recipient.email,
                                                issued_at=issued_at)
        except NoSigningKeyError as exc:
            raise PermanentProviderError(str(exc)) from exc
        return RemoteBadge(external_id=str(credential.uuid), state=BadgeState.ACCEPTED)

    def revoke_badge(self, *, badge_external_id: str, reason: str) -> RemoteBadge:
        try:
            credential = store.revoke_credential(badge_external_id)
        except NoSigningKeyError as exc:
            raise PermanentProviderError(str(exc)) from exc
        if credential is None:
            raise PermanentProviderError(f"No credential {badge_external_id} to revoke")
        return RemoteBadge(external_id=str(credential.uuid), state=BadgeState.REVOKED)

    def find_badge(self, *, template_external_id: str, recipient: Recipient) -> RemoteBadge | None:
        credential = (OpenBadgeCredential.objects
                      .filter(achievement__uuid=template_external_id, username=recipient.username)
                      .order_by("-issued_at", "-id").first())
        if credential is None:
            return None
        state = BadgeState.REVOKED if credential.revoked_at else BadgeState.ACCEPTED
        return RemoteBadge(external_id=str(credential.uuid), state=state)
