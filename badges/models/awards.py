"""Awarded badges: the learner's credential record plus where it stands at the provider."""
from __future__ import annotations

from django.db import models

from badges.host import UserCredential
from badges.providers.base import BadgeState


def state_choices(states: tuple[BadgeState, ...]) -> list[tuple[str, str]]:
    return [(state.value, state.label) for state in states]


class ProviderBadge(models.Model):
    """What every provider's badge record keeps about issuing it."""

    provider_error = models.TextField(blank=True, help_text="The provider's reason for the last failure.")
    issue_attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sync_started_at = models.DateTimeField(
        null=True, blank=True, help_text="When the current issue/revoke began; the retry horizon counts from here."
    )
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, db_index=True,
        help_text="When the next provider attempt is due: after a failure, or if the running one never reports.",
    )
    replaced_external_id = models.CharField(
        max_length=64, blank=True, default="",
        help_text="The provider's ID of this record's earlier badge (before a re-award), revoked before issuing anew.",
    )

    class Meta:
        abstract = True


class CredlyBadge(ProviderBadge, UserCredential):
    STATES = tuple(BadgeState)

    state = models.CharField("external state", max_length=16, choices=state_choices(STATES),
                             default=BadgeState.CREATED, db_index=True)
    external_uuid = models.UUIDField(
        "external identifier", null=True, blank=True, unique=True, help_text="The badge's ID at Credly."
    )

    class Meta:
        verbose_name = "Credly badge"

    def __str__(self) -> str:
        return f"{self.username}: Credly badge {self.uuid} ({self.status}, {self.state})"


class AccredibleBadge(ProviderBadge, UserCredential):
    STATES = (BadgeState.CREATED, BadgeState.NO_RESPONSE, BadgeState.ERROR, BadgeState.ACCEPTED, BadgeState.EXPIRED)

    state = models.CharField("external state", max_length=16, choices=state_choices(STATES),
                             default=BadgeState.CREATED, db_index=True)
    external_id = models.PositiveBigIntegerField(
        "external identifier", null=True, blank=True, unique=True, help_text="The credential's ID at Accredible."
    )

    class Meta:
        verbose_name = "Accredible badge"

    def __str__(self) -> str:
        return f"{self.username}: Accredible badge {self.uuid} ({self.status}, {self.state})"
