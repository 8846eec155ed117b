"""Credentials-style base models that badge templates and badge records extend."""
import uuid

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site
from django.db import models


class TimeStampedModel(models.Model):
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AbstractCredential(TimeStampedModel):
    """Something a learner can be awarded (a program certificate, a badge template...)."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE)
    is_active = models.BooleanField(default=False)

    class Meta:
        abstract = True


class UserCredential(TimeStampedModel):
    """One learner's award of one credential; provider-specific records extend it."""

    class Status(models.TextChoices):
        AWARDED = "awarded", "awarded"
        REVOKED = "revoked", "revoked"

    credential_content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    credential_id = models.PositiveBigIntegerField()
    credential = GenericForeignKey("credential_content_type", "credential_id")
    username = models.CharField(max_length=255, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.AWARDED, db_index=True)
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        unique_together = (("credential_content_type", "credential_id", "username"),)

    def __str__(self) -> str:
        return f"{self.username}: {self.credential_content_type.model} #{self.credential_id} ({self.status})"
