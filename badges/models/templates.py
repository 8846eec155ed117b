"""Badge templates and the rules that award (requirements) or revoke (penalties) them."""
from __future__ import annotations

import functools
import string
import uuid

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import connections, models, router

from badges.host import AbstractCredential, TimeStampedModel
from badges.models.accounts import AccredibleAPIConfig, CredlyOrganization

GROUP_LETTERS = string.ascii_uppercase


class Origin(models.TextChoices):
    CREDLY = "credly", "Credly"
    ACCREDIBLE = "accredible", "Accredible"
    OPENBADGES = "openbadges", "Open Badges (self-issued)"


class RulebookVersion(models.Model):
    """One row whose token changes whenever processing configuration changes.

    Processes cache the active configuration under this token and compare it (one cheap query)
    before each event, so an admin change takes effect on the next event without a restart.
    The token is random, never a counter: a rolled-back transaction or a restored database can
    bring a counter back to a value a process has already cached with other rows; a random token
    is never seen twice.
    """

    token = models.CharField(max_length=32, default="")
    changed = models.DateTimeField(auto_now=True)

    SINGLETON_ID = 1

    def __str__(self) -> str:
        return f"configuration version {self.token}"

    @classmethod
    def current(cls) -> str:
        """The token, read with one plain query: it runs for every event, and building the
        equivalent ORM query cost several times more than executing it."""
        connection = connections[router.db_for_read(cls)]
        with connection.cursor() as cursor:
            cursor.execute(_token_sql(connection.ops.quote_name(cls._meta.db_table)))
            row = cursor.fetchone()
        return row[0] if row is not None else ""

    @classmethod
    def bump(cls) -> None:
        """Give the configuration a new token. Inside a transaction it becomes visible with the change.

        Code that changes configuration with ``QuerySet.update()`` or M2M writes outside a
        ``save()`` must call this itself.
        """
        token = uuid.uuid4().hex
        if not cls.objects.filter(pk=cls.SINGLETON_ID).update(token=token):
            cls.objects.update_or_create(pk=cls.SINGLETON_ID, defaults={"token": token})


@functools.cache
def _token_sql(table: str) -> str:
    """The token query, without parameters (the id is a constant), so no placeholder is rewritten per call."""
    return f"SELECT token FROM {table} WHERE id = {RulebookVersion.SINGLETON_ID:d}"  # noqa: S608 - constants


class RulebookModel(models.Model):
    """Base of every model that changes what events do: saving or deleting one bumps the version."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        RulebookVersion.bump()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        RulebookVersion.bump()
        return result


class BadgeTemplate(RulebookModel, AbstractCredential):
    """A badge definition pulled from a provider; subclassed once per provider."""

    class State(models.TextChoices):
        DRAFT = "draft", "draft"
        ACTIVE = "active", "active"
        ARCHIVED = "archived", "archived"

    uuid = models.UUIDField(unique=True, default=uuid.uuid4, help_text="Credly's template ID, or ours.")
    name = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    icon = models.URLField(max_length=1024, blank=True, help_text="Image URL at the provider.")
    origin = models.CharField(max_length=32, choices=Origin.choices, editable=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.DRAFT)

    class Meta:
        verbose_name = "badge template"

    def __str__(self) -> str:
        return self.name or str(self.uuid)

    def clean(self) -> None:
        if self.is_active and (self.pk is None or not self.requirements.exists()):
            raise ValidationError(
                {"is_active": "A badge template cannot be active without at least one requirement."}
            )

    @property
    def provider_template(self) -> BadgeTemplate:
        """The provider subclass row of this template (each subclass names its ``ORIGIN``)."""
        if type(self) is not BadgeTemplate:
            return self
        subclass = next(model for model in BadgeTemplate.__subclasses__() if self.origin == model.ORIGIN)
        return getattr(self, subclass._meta.model_name)


class CredlyBadgeTemplate(BadgeTemplate):
    ORIGIN = Origin.CREDLY

    organization = models.ForeignKey(CredlyOrganization, on_delete=models.CASCADE, related_name="templates")

    class Meta:
        verbose_name = "Credly badge template"

    def save(self, *args, **kwargs):
        self.origin = self.ORIGIN
        super().save(*args, **kwargs)


class AccredibleGroup(BadgeTemplate):
    ORIGIN = Origin.ACCREDIBLE

    api_config = models.ForeignKey(AccredibleAPIConfig, on_delete=models.CASCADE, related_name="groups")
    external_id = models.PositiveBigIntegerField(help_text="The group's ID at Accredible.")

    class Meta:
        verbose_name = "Accredible group"
        constraints = [
            models.UniqueConstraint(fields=["api_config", "external_id"], name="badges_unique_accredible_group"),
        ]

    def save(self, *args, **kwargs):
        self.origin = self.ORIGIN
        super().save(*args, **kwargs)


class BadgeRequirement(RulebookModel, TimeStampedModel):
    """One way to fulfil a group: an event of ``event_type`` whose payload satisfies every rule.

    Requirements sharing a ``group`` letter are alternatives (OR); all groups are needed (AND).
    """

    template = models.ForeignKey(BadgeTemplate, on_delete=models.CASCADE, related_name="requirements")
    event_type = models.CharField(max_length=255, help_text="The public event that can fulfil it.")
    description = models.TextField(blank=True)
    group = models.CharField(
        max_length=1,
        blank=True,
        validators=[RegexValidator(r"^[A-Z]$", "A group is one capital letter A-Z.")],
        help_text="Requirements with the same letter are alternatives; every group is needed.",
    )

    class Meta:
        ordering = ("group", "id")

    def __str__(self) -> str:
        return f"{self.template}: group {self.group} ({self.event_type})"

    def save(self, *args, **kwargs):
        if not self.group:
            self.group = self.next_free_group()
        super().save(*args, **kwargs)

    def next_free_group(self) -> str:
        """The first letter no requirement of the template uses yet (Z once all are taken)."""
        used = set(BadgeRequirement.objects.filter(template_id=self.template_id).values_list("group", flat=True))
        return next((letter for letter in GROUP_LETTERS if letter not in used), GROUP_LETTERS[-1])


class AbstractDataRule(RulebookModel):
    """``<value at data_path> <operator> <value>`` on an event payload."""

    class Operator(models.TextChoices):
        EQ = "eq", "="
        NE = "ne", "!="

    data_path = models.CharField("key path", max_length=255, help_text="Dotted key path into the event payload.")
    operator = models.CharField(max_length=2, choices=Operator.choices, default=Operator.EQ)
    value = models.CharField(max_length=255)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.data_path} {self.get_operator_display()} {self.value}"


class DataRule(AbstractDataRule):
    requirement = models.ForeignKey(BadgeRequirement, on_delete=models.CASCADE, related_name="rules")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["requirement", "data_path", "operator", "value"], name="badges_unique_data_rule"
            ),
        ]


class BadgePenalty(RulebookModel, TimeStampedModel):
    """An event that takes progress back: it removes the fulfillments of ``requirements``."""

    template = models.ForeignKey(BadgeTemplate, on_delete=models.CASCADE, related_name="penalties")
    event_type = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    requirements = models.ManyToManyField(BadgeRequirement, related_name="penalties")

    class Meta:
        verbose_name_plural = "badge penalties"

    def __str__(self) -> str:
        return f"{self.template}: penalty ({self.event_type})"


class PenaltyDataRule(AbstractDataRule):
    penalty = models.ForeignKey(BadgePenalty, on_delete=models.CASCADE, related_name="rules")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["penalty", "data_path", "operator", "value"], name="badges_unique_penalty_data_rule"
            ),
        ]
