"""A learner's progress towards a template: which requirements are fulfilled, and by what."""
from __future__ import annotations

from django.db import models

from badges.host import TimeStampedModel
from badges.models.templates import BadgeRequirement, BadgeTemplate


class BadgeProgress(TimeStampedModel):
    """Created on a learner's first fulfilled requirement for a template, never for a lookup."""

    username = models.CharField(max_length=255, db_index=True, help_text="The learner's current username.")
    lms_user_id = models.PositiveIntegerField(
        null=True, blank=True, db_index=True,
        help_text="The learner's LMS user id, which identifies them across renames; empty for events without one.",
    )
    template = models.ForeignKey(BadgeTemplate, on_delete=models.CASCADE, related_name="progress")

    class Meta:
        verbose_name_plural = "badge progress"
        constraints = [
            models.UniqueConstraint(fields=["username", "template"], name="badges_unique_progress"),
        ]

    def __str__(self) -> str:
        return f"{self.username}: {self.template}"


class Fulfillment(TimeStampedModel):
    """One fulfilled requirement, with the event that fulfilled it so an operator can see why."""

    progress = models.ForeignKey(BadgeProgress, on_delete=models.CASCADE, related_name="fulfillments")
    requirement = models.ForeignKey(BadgeRequirement, on_delete=models.CASCADE, related_name="fulfillments")
    event_id = models.UUIDField(null=True, blank=True)
    event_type = models.CharField(max_length=255, blank=True)
    event_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["progress", "requirement"], name="badges_unique_fulfillment"),
        ]

    def __str__(self) -> str:
        return f"{self.progress.username}: {self.requirement}"
