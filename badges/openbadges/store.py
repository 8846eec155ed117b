"""Issuing and revoking signed credentials, and keeping each status list signed.

Revocation locks the status list row (``SELECT ... FOR UPDATE``): concurrent revokes of
credentials on one list run one after another, so none undoes another's bit, and each re-signs
the list it changed. Index allocation locks the issuer row, so concurrent issues take distinct
indexes and never start two lists. Called inside the caller's transaction (the badge row lock of
:func:`badges.issuing.sync_with_provider`), so the badge record and the credential commit together.
"""
from __future__ import annotations

import datetime
import secrets
import uuid

from django.db import transaction
from django.utils import timezone

from badges.models import (
    OpenBadgeAchievement,
    OpenBadgeCredential,
    OpenBadgeIssuer,
    OpenBadgeSigningKey,
    OpenBadgeStatusList,
)
from badges.models.openbadges import STATUS_LIST_BITS
from badges.openbadges import documents
from badges.openbadges.signing import generate_key, sign, signing_key


def issuer_profile(issuer: OpenBadgeIssuer) -> documents.IssuerProfile:
    return documents.IssuerProfile(id=issuer.profile_id, name=issuer.name, url=issuer.url, email=issuer.email,
                                   image=issuer.image)


def achievement_of(achievement: OpenBadgeAchievement) -> documents.Achievement:
    return documents.Achievement(
        id=achievement.achievement_id, name=achievement.name, description=achievement.description,
        criteria=achievement.criteria, image=achievement.icon, tags=tuple(achievement.tag_list),
    )


def credential_url(issuer: OpenBadgeIssuer, credential_uuid: uuid.UUID | str) -> str:
    return issuer.absolute("openbadges-credential", credential_uuid=str(credential_uuid))


def issue_credential(achievement: OpenBadgeAchievement, *, username: str, email: str,
                     issued_at: datetime.datetime) -> OpenBadgeCredential:
    """Sign and store one ``OpenBadgeCredential`` for the learner, with a fresh status list index."""
    issuer = achievement.issuer
    key = signing_key(issuer)
    with transaction.atomic():
        status_list, index = _allocate_index(issuer)
        credential = OpenBadgeCredential(achievement=achievement, username=username, status_list=status_list,
                                         status_index=index, issued_at=issued_at)
        valid_until = (issued_at + datetime.timedelta(days=achievement.valid_days)
                       if achievement.valid_days else None)
        claims = documents.open_badge_credential(
            credential_id=credential_url(issuer, credential.uuid), issuer=issuer_profile(issuer),
            achieved=achievement_of(achievement), email=email, salt=secrets.token_hex(16),
            valid_from=issued_at, valid_until=valid_until,
            status=documents.StatusEntry(list_url=status_list.url, index=index),
        )
        credential.signed = sign(claims, key)
        credential.save()
    return credential


def revoke_credential(credential_uuid: str) -> OpenBadgeCredential | None:
    """Set the credential's bit and re-sign its list; None when no such credential exists."""
    with transaction.atomic():
        credential = OpenBadgeCredential.objects.select_for_update().filter(uuid=credential_uuid).first()
        if credential is None:
            return None
        status_list = OpenBadgeStatusList.objects.select_for_update().select_related("issuer").get(
            pk=credential.status_list_id)
        status_list.bits = documents.with_bit_set(bytes(status_list.bits), credential.status_index)
        resign_status_list(status_list)
        if credential.revoked_at is None:
            credential.revoked_at = timezone.now()
            credential.save(update_fields=["revoked_at"])
    return credential


def resign_status_list(status_list: OpenBadgeStatusList, key: OpenBadgeSigningKey | None = None) -> None:
    """Sign the list's current bits (with the issuer's signing key) and save both."""
    key = key or signing_key(status_list.issuer)
    claims = documents.status_list_credential(
        list_url=status_list.url, issuer_id=status_list.issuer.profile_id, bits=bytes(status_list.bits),
        valid_from=timezone.now(),
    )
    status_list.signed = sign(claims, key)
    status_list.save(update_fields=["bits", "signed", "modified"])


def rotate_signing_key(issuer: OpenBadgeIssuer) -> OpenBadgeSigningKey:
    """A new signing key; the issuer's status lists are re-signed with it (each under its row lock),
    so a list is always signed by the current key. Credentials keep the signature of the key that
    made them, which stays published."""
    with transaction.atomic():
        key = generate_key(issuer)
        for status_list in OpenBadgeStatusList.objects.select_for_update().select_related("issuer").filter(
                issuer=issuer).order_by("id"):
            resign_status_list(status_list, key)
    return key


def _allocate_index(issuer: OpenBadgeIssuer) -> tuple[OpenBadgeStatusList, int]:
    """The next free index of the issuer's open status list (a new list when all are full).

    The issuer row is locked first, so two first issues do not each start a list of their own.
    """
    OpenBadgeIssuer.objects.select_for_update().filter(pk=issuer.pk).first()
    status_list = (OpenBadgeStatusList.objects.select_related("issuer")
                   .filter(issuer=issuer, next_index__lt=STATUS_LIST_BITS).order_by("id").first())
    if status_list is None:
        status_list = OpenBadgeStatusList.objects.create(issuer=issuer, bits=bytes(STATUS_LIST_BITS // 8))
        resign_status_list(status_list)
    index = status_list.next_index
    status_list.next_index = index + 1
    status_list.save(update_fields=["next_index", "modified"])
    return status_list, index
