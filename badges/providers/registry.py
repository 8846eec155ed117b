"""One registry, keyed by template origin: each provider's account, template and badge models, and
how they become a provider client.

Callers never branch on the provider: they ask for the provider of an account or a template and
call the :class:`~badges.providers.base.BadgeProvider` interface. Adding a provider is its module
plus one entry here (issuing builds its badge kinds from these entries).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from badges.models import (
    AccredibleAPIConfig,
    AccredibleBadge,
    AccredibleGroup,
    BadgeTemplate,
    CredlyBadge,
    CredlyBadgeTemplate,
    CredlyOrganization,
    OpenBadge,
    OpenBadgeAchievement,
    OpenBadgeIssuer,
    Origin,
)
from badges.providers.accredible import AccredibleProvider
from badges.providers.base import BadgeProvider, BadgeState
from badges.providers.credly import CredlyProvider
from badges.providers.openbadges import OpenBadgesProvider


@dataclass(frozen=True)
class ProviderEntry:
    """How one origin maps its account and template models onto a provider client, and where its
    badge records keep the provider's id and which state means "revoked there"."""

    account_model: type
    build: Callable[[Any], BadgeProvider]
    account_of: Callable[[Any], Any]
    account_field: str  # the template model's column holding its account's primary key
    external_id_of: Callable[[Any], str]
    template_model: type[BadgeTemplate]
    badge_model: type
    badge_external_id_field: str
    revoked_state: str


PROVIDERS: dict[str, ProviderEntry] = {
    Origin.CREDLY: ProviderEntry(
        account_model=CredlyOrganization,
        build=lambda org: CredlyProvider(organization_id=str(org.uuid), api_key=org.effective_api_key),
        account_of=lambda template: template.organization,
        account_field="organization_id",
        external_id_of=lambda template: str(template.uuid),
        template_model=CredlyBadgeTemplate,
        badge_model=CredlyBadge,
        badge_external_id_field="external_uuid",
        revoked_state=BadgeState.REVOKED,
    ),
    Origin.ACCREDIBLE: ProviderEntry(
        account_model=AccredibleAPIConfig,
        build=lambda config: AccredibleProvider(api_key=config.effective_api_key),
        account_of=lambda template: template.api_config,
        account_field="api_config_id",
        external_id_of=lambda template: str(template.external_id),
        template_model=AccredibleGroup,
        badge_model=AccredibleBadge,
        badge_external_id_field="external_id",
        revoked_state=BadgeState.EXPIRED,
    ),
    Origin.OPENBADGES: ProviderEntry(
        account_model=OpenBadgeIssuer,
        build=OpenBadgesProvider,
        account_of=lambda achievement: achievement.issuer,
        account_field="issuer_id",
        external_id_of=lambda achievement: str(achievement.uuid),
        template_model=OpenBadgeAchievement,
        badge_model=OpenBadge,
        badge_external_id_field="credential_uuid",
        revoked_state=BadgeState.REVOKED,
    ),
}


def _entry_for_account(account: Any) -> ProviderEntry:
    for entry in PROVIDERS.values():
        if isinstance(account, entry.account_model):
            return entry
    raise TypeError(f"{type(account).__name__} is not a provider account")


def _entry_for_template(template: BadgeTemplate) -> ProviderEntry:
    try:
        return PROVIDERS[template.origin]
    except KeyError:
        raise TypeError(f"template {template.pk} has unknown origin {template.origin!r}") from None


def provider_for_account(account: Any) -> BadgeProvider:
    """A client for a provider account (Credly organization, Accredible API config, Open Badges issuer)."""
    return _entry_for_account(account).build(account)


def provider_for_template(template: BadgeTemplate) -> BadgeProvider:
    """A client for the account that owns ``template`` (any ``BadgeTemplate`` row, base or subclass)."""
    concrete = template.provider_template
    entry = _entry_for_template(concrete)
    return entry.build(entry.account_of(concrete))


def template_external_id(template: BadgeTemplate) -> str:
    """The template's ID at its provider (Credly template UUID, Accredible group ID)."""
    concrete = template.provider_template
    return _entry_for_template(concrete).external_id_of(concrete)
