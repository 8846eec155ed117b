"""Addresses at the providers that the API hands out: a template's page and a learner's badge page."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver

from badges.conf import badges_config, provider_urls
from badges.models import Origin


@dataclass(frozen=True)
class ProviderLinks:
    """The providers' web addresses, read from ``BADGES_CONFIG`` once per request."""

    credly_web: str
    accredible_credentials: str

    @staticmethod
    @cache
    def configured() -> ProviderLinks:
        """Read from the settings once per process (``BADGES_CONFIG`` changes only on restart or in tests)."""
        return ProviderLinks(credly_web=provider_urls("credly")["base"],
                             accredible_credentials=badges_config()["accredible"]["ACCREDIBLE_CREDENTIAL_BASE_URL"])

    def template_dashboard(self, origin: str, organization_uuid: object | None, template_uuid: object) -> str | None:
        """The template's page in the Credly dashboard; Accredible documents no stable group page."""
        if origin != Origin.CREDLY or organization_uuid is None:
            return None
        return f"{self.credly_web}mgmt/organizations/{organization_uuid}/badges/templates/{template_uuid}/details"

    def learner_badge(self, origin: str, external_id: object | None) -> str | None:
        """Where the learner sees the badge: Credly's badge page or Accredible's credential page.

        None until the provider has given the badge its id.
        """
        if external_id is None:
            return None
        if origin == Origin.CREDLY:
            return f"{self.credly_web}badges/{external_id}"
        return f"{self.accredible_credentials}{external_id}"


@receiver(setting_changed)
def _forget_links(*, setting: str, **kwargs: Any) -> None:
    if setting == "BADGES_CONFIG":
        ProviderLinks.configured.cache_clear()
