"""Provider accounts: where templates come from and whose key issues their badges."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone

from badges.conf import preconfigured_credly_keys
from badges.encryption import EncryptedTextField
from badges.host import TimeStampedModel

CREDLY_KEY_LIFETIME = timedelta(days=180)
"""Credly authorization tokens expire this long after they are created."""
CREDLY_KEY_EXPIRY_WARNING = timedelta(days=30)
"""Operators are warned this long before a stored Credly token is expected to expire."""


class CredlyOrganization(TimeStampedModel):
    """A Credly organization; its key comes from the admin or from ``BADGES_CONFIG``."""

    uuid = models.UUIDField(unique=True, help_text="The organization's ID at Credly.")
    api_key = EncryptedTextField(
        blank=True, help_text="Authorization token; stored encrypted, never shown again."
    )
    name = models.CharField(max_length=255, blank=True, help_text="Filled from Credly.")
    api_key_set_at = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="When the stored key was entered in the admin; empty for keys stored before this was tracked.",
    )

    class Meta:
        verbose_name = "Credly organization"

    def __str__(self) -> str:
        return self.name or str(self.uuid)

    @property
    def is_preconfigured(self) -> bool:
        """Whether the key comes from ``BADGES_CONFIG["credly"]["ORGANIZATIONS"]``."""
        return str(self.uuid).lower() in preconfigured_credly_keys()

    @property
    def effective_api_key(self) -> str:
        return preconfigured_credly_keys().get(str(self.uuid).lower(), self.api_key)

    @property
    def api_key_expires_at(self) -> datetime | None:
        """Expected expiry of the stored key, counted from when it was entered (it may be older at Credly)."""
        if self.api_key_set_at is None:
            return None
        return self.api_key_set_at + CREDLY_KEY_LIFETIME

    @classmethod
    def with_stored_key_expiring(cls, now: datetime | None = None) -> models.QuerySet[CredlyOrganization]:
        """Organizations whose stored key expires within the warning period or has expired (one query)."""
        cutoff = (now or timezone.now()) + CREDLY_KEY_EXPIRY_WARNING - CREDLY_KEY_LIFETIME
        return (
            cls.objects.filter(api_key_set_at__lte=cutoff)
            .exclude(uuid__in=list(preconfigured_credly_keys()))
            .order_by("api_key_set_at")
        )


class AccredibleAPIConfig(TimeStampedModel):
    """An Accredible account, reached with one API key."""

    name = models.CharField(max_length=255, help_text="A name for operators; not sent anywhere.")
    api_key = EncryptedTextField(help_text="API key; stored encrypted, never shown again.")

    class Meta:
        verbose_name = "Accredible API config"

    def __str__(self) -> str:
        return self.name

    @property
    def effective_api_key(self) -> str:
        return self.api_key
