"""Self-issued Open Badges 3.0: the issuer (our account), its signing keys, achievements, the signed
credentials and the status lists that revoke them.

There is no vendor: the issuer profile and its keys live here, achievements are created in the
admin, and "issuing at the provider" means signing a credential and storing it
(:mod:`badges.providers.openbadges`).
"""
from __future__ import annotations

import uuid

from django.contrib.sites.models import Site
from django.db import models
from django.urls import reverse

from badges.encryption import EncryptedTextField
from badges.host import TimeStampedModel, UserCredential
from badges.models.awards import ProviderBadge, state_choices
from badges.models.templates import BadgeTemplate, Origin
from badges.providers.base import BadgeState

#: Bits per status list: the W3C Bitstring Status List minimum (16 KB), so one credential's bit
#: cannot be told apart from the others' by the list's size.
STATUS_LIST_BITS = 131_072


class OpenBadgeIssuer(TimeStampedModel):
    """The issuer profile of one site: who signs its Open Badges, published at its id URL."""

    uuid = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    site = models.OneToOneField(Site, on_delete=models.CASCADE, related_name="open_badge_issuer")
    name = models.CharField(max_length=255)
    url = models.URLField(max_length=1024, help_text="The issuer's home page.")
    email = models.EmailField(help_text="Contact address published in the issuer profile.")
    image = models.URLField(max_length=1024, blank=True, help_text="The issuer's logo (URL).")
    public_base_url = models.URLField(
        max_length=1024,
        help_text="Where this service is reached from outside, e.g. https://credentials.example.com. "
                  "The issuer id, keys, credentials and status lists are published below it.",
    )

    class Meta:
        verbose_name = "Open Badges issuer"

    def __str__(self) -> str:
        return self.name

    def absolute(self, name: str, **kwargs: str) -> str:
        """The public URL of one of this app's views (``badges:<name>``)."""
        return self.public_base_url.rstrip("/") + reverse(f"badges:{name}", kwargs=kwargs)

    @property
    def profile_id(self) -> str:
        return self.absolute("openbadges-issuer", issuer_uuid=str(self.uuid))

    @property
    def jwks_url(self) -> str:
        return self.absolute("openbadges-jwks", issuer_uuid=str(self.uuid))


class OpenBadgeSigningKey(models.Model):
    """One Ed25519 key of an issuer. The newest unretired key signs; retired keys stay published so
    what they signed keeps verifying."""

    issuer = models.ForeignKey(OpenBadgeIssuer, on_delete=models.CASCADE, related_name="keys")
    kid = models.CharField(max_length=64, unique=True, help_text="RFC 7638 thumbprint of the public key.")
    public_jwk = models.JSONField()
    private_key = EncryptedTextField(help_text="PKCS#8 PEM; stored encrypted, never shown.")
    created = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True, help_text="No longer signs; still verifies.")

    class Meta:
        verbose_name = "Open Badges signing key"
        ordering = ("-created", "-id")

    def __str__(self) -> str:
        return f"{self.issuer}: key {self.kid}" + (" (retired)" if self.retired_at else "")


class OpenBadgeAchievement(BadgeTemplate):
    """An achievement defined by the operator in the admin; it takes part in rules like any template."""

    ORIGIN = Origin.OPENBADGES

    issuer = models.ForeignKey(OpenBadgeIssuer, on_delete=models.PROTECT, related_name="achievements")
    criteria = models.TextField(help_text="Criteria narrative: what a learner did to earn it.")
    tags = models.CharField(max_length=1024, blank=True, help_text="Comma-separated tags.")
    valid_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days a credential stays valid after it is issued; empty: no end."
    )

    class Meta:
        verbose_name = "Open Badges achievement"

    def save(self, *args, **kwargs):
        self.origin = self.ORIGIN
        super().save(*args, **kwargs)

    @property
    def tag_list(self) -> list[str]:
        return [tag.strip() for tag in self.tags.split(",") if tag.strip()]

    @property
    def achievement_id(self) -> str:
        return self.issuer.absolute("openbadges-achievement", achievement_uuid=str(self.uuid))


class OpenBadge(ProviderBadge, UserCredential):
    """A learner's award of an achievement; ``credential_uuid`` names the signed credential."""

    STATES = (BadgeState.CREATED, BadgeState.NO_RESPONSE, BadgeState.ERROR, BadgeState.ACCEPTED,
              BadgeState.REVOKED)

    state = models.CharField(max_length=16, choices=state_choices(STATES), default=BadgeState.CREATED, db_index=True)
    credential_uuid = models.UUIDField(
        null=True, blank=True, unique=True, help_text="The signed credential issued for this award."
    )

    class Meta:
        verbose_name = "Open Badge"

    def __str__(self) -> str:
        return f"{self.username}: Open Badge {self.uuid} ({self.status}, {self.state})"


class OpenBadgeStatusList(models.Model):
    """One revocation Bitstring Status List of an issuer; ``bits`` is the raw bitstring (bit 0 is the
    first byte's most significant bit). Its row lock orders revokes and index allocation."""

    uuid = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    issuer = models.ForeignKey(OpenBadgeIssuer, on_delete=models.CASCADE, related_name="status_lists")
    bits = models.BinaryField()
    next_index = models.PositiveIntegerField(default=0)
    signed = models.TextField(blank=True, help_text="The status list credential, signed (VC-JWT).")
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Open Badges status list"

    def __str__(self) -> str:
        return f"{self.issuer}: status list {self.uuid} ({self.next_index} used)"

    @property
    def url(self) -> str:
        return self.issuer.absolute("openbadges-status-list", list_uuid=str(self.uuid))


class OpenBadgeCredential(models.Model):
    """A signed ``OpenBadgeCredential`` as the learner holds it: the issuer's record of what it signed."""

    uuid = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    achievement = models.ForeignKey(OpenBadgeAchievement, on_delete=models.PROTECT, related_name="credentials")
    username = models.CharField(max_length=255, db_index=True)
    status_list = models.ForeignKey(OpenBadgeStatusList, on_delete=models.PROTECT, related_name="credentials")
    status_index = models.PositiveIntegerField()
    signed = models.TextField(help_text="The credential, signed (VC-JWT).")
    issued_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "Open Badges credential"
        constraints = [
            models.UniqueConstraint(fields=["status_list", "status_index"], name="badges_unique_status_index"),
        ]

    def __str__(self) -> str:
        return f"{self.username}: {self.achievement} ({self.uuid})"
