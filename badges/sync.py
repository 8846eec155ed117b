"""Pull templates (Credly) and groups (Accredible) from the provider into our database.

Rules every sync follows:
- the provider is read completely before anything is written, so a failure halfway through the
  listing changes nothing;
- new templates arrive inactive: an operator adds requirements and activates them;
- name, description, state and image follow the provider;
- a template the provider no longer offers for issuing (archived, or gone from the list) takes
  its new state (``archived`` when gone) and is deactivated, never silently left active;
- ``is_active`` is the operator's: a sync only ever lowers it, with an UPDATE filtered on the
  rows still active, so it never writes back a value read before an operator's concurrent change;
- nothing is deleted: requirements and learner progress survive any sync;
- an account's sync touches only that account's templates.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.contrib.sites.models import Site
from django.db import transaction
from django.utils import timezone

from badges.models import (
    AccredibleAPIConfig,
    AccredibleGroup,
    BadgeTemplate,
    CredlyBadgeTemplate,
    CredlyOrganization,
    RulebookVersion,
)
from badges.providers.base import ProviderError, RemoteTemplate
from badges.providers.registry import provider_for_account

logger = logging.getLogger(__name__)

#: Columns a sync copies from the provider; ``is_active`` is never among them (see :func:`deactivate_withdrawn`).
PROVIDER_FIELDS = ("name", "description", "state", "icon")


@dataclass
class SyncResult:
    """What one account's sync changed."""

    created: int = 0
    updated: int = 0
    deactivated: int = 0

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.deactivated} deactivated"


def apply_remote(template: BadgeTemplate, remote: RemoteTemplate) -> bool:
    """Copy the provider's fields onto ``template`` (unsaved); True when something changed.

    A template that is no longer active at the provider is also marked inactive in memory (so the
    change is counted); the caller stores that with :func:`deactivate_withdrawn`, not with a save.
    """
    wanted = {
        "name": remote.name[:255],
        "description": remote.description,
        "state": remote.state,
        "icon": remote.image_url[:1024],
        "is_active": template.is_active and remote.state == BadgeTemplate.State.ACTIVE,
    }
    changed = False
    for field, value in wanted.items():
        if getattr(template, field) != value:
            setattr(template, field, value)
            changed = True
    return changed


def upsert_credly_template(
    org: CredlyOrganization, remote: RemoteTemplate, site: Site
) -> tuple[CredlyBadgeTemplate, bool]:
    """Create (inactive) or update one Credly template from the provider's description of it."""
    template = CredlyBadgeTemplate.objects.filter(uuid=remote.external_id).first()
    if template is None:
        template = CredlyBadgeTemplate(organization=org, uuid=uuid.UUID(remote.external_id), site=site,
                                       is_active=False)
        apply_remote(template, remote)
        template.save()
        return template, True
    changed = apply_remote(template, remote)
    if template.organization_id != org.pk:
        template.organization = org
        changed = True
    deactivated = remote.state != BadgeTemplate.State.ACTIVE and deactivate_withdrawn([template.pk])
    if changed:
        template.save(update_fields=[*PROVIDER_FIELDS, "organization", "modified"])
    elif deactivated:
        RulebookVersion.bump([template.pk])
    return template, False


def deactivate_withdrawn(template_pks: list[int]) -> int:
    """Deactivate those of the templates that are still active; the number deactivated.

    One UPDATE that can only lower ``is_active``: an operator's deactivation made after the sync
    read the rows stays, and a sync never re-activates anything. The caller bumps the rulebook.
    """
    if not template_pks:
        return 0
    return BadgeTemplate.objects.filter(pk__in=template_pks, is_active=True).update(
        is_active=False, modified=timezone.now()
    )


def deactivate_template(template: BadgeTemplate, state: str) -> bool:
    """Mark a template with its provider state and stop it awarding; True when something changed."""
    if template.state == state and not template.is_active:
        return False
    template.state = state
    template.is_active = False
    template.save(update_fields=["state", "is_active", "modified"])
    logger.info("badge template %s (%s) deactivated: %s at the provider", template.pk, template, state)
    return True


def sync_credly_organization(org: CredlyOrganization, site: Site | None = None) -> SyncResult:
    """Sync every active template of one Credly organization (all pages)."""
    remotes = list(provider_for_account(org).list_templates())
    taken = {
        str(value)
        for value in CredlyBadgeTemplate.objects.filter(uuid__in=[r.external_id for r in remotes])
        .exclude(organization=org)
        .values_list("uuid", flat=True)
    }
    if taken:
        logger.warning("Credly organization %s lists templates owned by another organization here: %s",
                       org.uuid, sorted(taken))
    remotes = [remote for remote in remotes if remote.external_id not in taken]
    existing = {str(t.uuid): t for t in CredlyBadgeTemplate.objects.filter(organization=org)}
    return _apply(
        remotes,
        existing,
        new_template=lambda remote, site_: CredlyBadgeTemplate(
            organization=org, uuid=uuid.UUID(remote.external_id), site=site_, is_active=False
        ),
        site=site,
    )


def sync_accredible_api_config(config: AccredibleAPIConfig, site: Site | None = None) -> SyncResult:
    """Sync every group of one Accredible API config (all pages); other configs' groups are untouched."""
    remotes = list(provider_for_account(config).list_templates())
    existing = {str(g.external_id): g for g in AccredibleGroup.objects.filter(api_config=config)}
    return _apply(
        remotes,
        existing,
        new_template=lambda remote, site_: AccredibleGroup(
            api_config=config, external_id=int(remote.external_id), site=site_, is_active=False
        ),
        site=site,
    )


def _apply(
    remotes: Iterable[RemoteTemplate],
    existing: dict[str, BadgeTemplate],
    *,
    new_template: Callable[[RemoteTemplate, Site], BadgeTemplate],
    site: Site | None,
) -> SyncResult:
    """Write one account's listing: creates one by one (multi-table rows), updates in one batch.

    ``deactivated`` counts templates this sync found no longer active at the provider (archived
    or gone); ``updated`` counts the other changed ones.
    """
    site = site or Site.objects.get_current()
    result = SyncResult()
    to_create: list[BadgeTemplate] = []
    to_update: list[BadgeTemplate] = []
    withdrawn: list[int] = []
    seen: set[str] = set()
    for remote in remotes:
        seen.add(remote.external_id)
        template = existing.get(remote.external_id)
        if template is None:
            template = new_template(remote, site)
            apply_remote(template, remote)
            to_create.append(template)
            continue
        previous_state = template.state
        if remote.state != BadgeTemplate.State.ACTIVE:
            withdrawn.append(template.pk)
        if apply_remote(template, remote):
            to_update.append(template)
            if remote.state != BadgeTemplate.State.ACTIVE and previous_state != remote.state:
                result.deactivated += 1
            else:
                result.updated += 1
    for key, template in existing.items():
        if key in seen:
            continue
        withdrawn.append(template.pk)
        if template.state == BadgeTemplate.State.ARCHIVED and not template.is_active:
            continue
        template.state = BadgeTemplate.State.ARCHIVED
        template.is_active = False
        to_update.append(template)
        result.deactivated += 1
    now = timezone.now()
    for template in to_update:
        template.modified = now
    with transaction.atomic():
        for template in to_create:
            template.save()
        if to_update:
            BadgeTemplate.objects.bulk_update(to_update, [*PROVIDER_FIELDS, "modified"])
        if deactivate_withdrawn(withdrawn) or to_update:
            RulebookVersion.bump([*withdrawn, *(template.pk for template in to_update)])
    result.created = len(to_create)
    logger.info("badge template sync: %s", result)
    return result


@dataclass
class AccountSyncOutcome:
    """One account's sync: its counts, or the error that stopped it."""

    account: CredlyOrganization | AccredibleAPIConfig
    result: SyncResult | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.result is not None

    def __str__(self) -> str:
        return f"{self.account}: {self.result}" if self.ok else f"{self.account}: sync failed: {self.error}"


SYNC_BY_ACCOUNT: dict[type, Callable[..., SyncResult]] = {
    CredlyOrganization: sync_credly_organization,
    AccredibleAPIConfig: sync_accredible_api_config,
}


def sync_each(
    accounts: Iterable[CredlyOrganization | AccredibleAPIConfig], site: Site | None = None
) -> list[AccountSyncOutcome]:
    """Sync every account in turn; one account's failure is recorded and the others still run."""
    outcomes = []
    for account in accounts:
        try:
            result = SYNC_BY_ACCOUNT[type(account)](account, site=site)
        except ProviderError as error:
            logger.warning("sync of %s failed: %s", account, error)
            outcomes.append(AccountSyncOutcome(account, error=str(error)))
        except Exception:
            # An unexpected fault in one account must not stop the others; the traceback goes to the log.
            logger.exception("sync of %s failed unexpectedly", account)
            outcomes.append(AccountSyncOutcome(account, error="unexpected error, see the service log"))
        else:
            outcomes.append(AccountSyncOutcome(account, result=result))
    return outcomes
