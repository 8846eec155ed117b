"""The host service's user: a Django user that also knows its LMS identity."""
from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A learner or staff member, mirrored from the LMS (``UserData``) when first needed."""

    full_name = models.CharField(max_length=255, blank=True)
    lms_user_id = models.PositiveIntegerField(null=True, blank=True, unique=True, db_index=True)

    class Meta:
        db_table = "core_user"

    def get_full_name(self) -> str:
        return self.full_name or super().get_full_name()
