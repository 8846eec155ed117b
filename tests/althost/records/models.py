"""The second host's credential models, playing the contract's three roles under other names."""
import uuid

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site
from django.db import models
from django.utils import timezone


class Stamped(models.Model):
    """The ``TimeStampedModel`` role, declared unlike the demo host's (no index, a default)."""

    created = models.DateTimeField(default=timezone.now, editable=False)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class CredentialDefinition(Stamped):
    """The ``AbstractCredential`` role."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE)
    is_active = models.BooleanField(default=False)

    class Meta:
        abstract = True


class LearnerCredential(Stamped):
    """The ``UserCredential`` role; statuses are plain choices, as in Open edX Credentials."""

    credential_content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    credential_id = models.PositiveIntegerField()
    credential = GenericForeignKey("credential_content_type", "credential_id")
    username = models.CharField(max_length=255, db_index=True)
    status = models.CharField(max_length=255, default="awarded",
                              choices=[("awarded", "awarded"), ("revoked", "revoked")])
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        unique_together = (("username", "credential_content_type", "credential_id"),)
