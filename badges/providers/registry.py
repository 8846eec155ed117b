"""One registry, keyed by template origin, that turns accounts and templates into provider clients.

Callers never branch on the provider: they ask for the provider of an account or a template and
call the :class:`~badges.providers.base.BadgeProvider` interface.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from badges.models import AccredibleAPIConfig, BadgeTemplate, CredlyOrganization, Origin
from badges.providers.accredible import AccredibleProvider
from badges.providers.base import BadgeProvider
from badges.providers.credly import CredlyProvider


@dataclass(frozen=True)
class ProviderEntry:
    """How one origin maps its account and template models onto a provider client."""

    account_model: type
    build: Callable[[Any], BadgeProvider]
    account_of: Callable[[Any], Any]
    external_id_of: Callable[[Any], str]


PROVIDERS: dict[str, ProviderEntry] = {
    Origin.CREDLY: ProviderEntry(
        account_model=CredlyOrganization,
        build=lambda org: CredlyProvider(organization_id=str(org.uuid), api_key=org.effective_api_key),
        account_of=lambda template: template.organization,
        external_id_of=lambda template: str(template.uuid),
    ),
    Origin.ACCREDIBLE: ProviderEntry(
        account_model=AccredibleAPIConfig,
        build=lambda config: AccredibleProvider(api_key=config.effective_api_key),
        account_of=lambda template: template.api_config,
        external_id_of=lambda template: str(template.external_id),
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


def provider_for_account(account: CredlyOrganization | AccredibleAPIConfig) -> BadgeProvider:
    """A client for a Credly organization or an Accredible API config, with its effective key."""
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
