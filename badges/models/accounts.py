"""Provider accounts: where templates come from and whose key issues their badges."""
from __future__ import annotations

from django.db import models

from badges.conf import preconfigured_credly_keys
from credentials_project.credentials.models import TimeStampedModel


class CredlyOrganization(TimeStampedModel):
    """A Credly organization; its key comes from the admin or from ``BADGES_CONFIG``."""

    uuid = models.UUIDField(unique=True, help_text="The organization's ID at Credly.")
    api_key = models.CharField(
        max_length=255, blank=True, help_text="Authorization token; kept secret, never shown again."
    )
    name = models.CharField(max_length=255, blank=True, help_text="Filled from Credly.")

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


class AccredibleAPIConfig(TimeStampedModel):
    """An Accredible account, reached with one API key."""

    name = models.CharField(max_length=255, help_text="A name for operators; not sent anywhere.")
    api_key = models.CharField(max_length=255, help_text="API key; kept secret, never shown again.")

    class Meta:
        verbose_name = "Accredible API config"

    def __str__(self) -> str:
        return self.name

    @property
    def effective_api_key(self) -> str:
        return self.api_key
