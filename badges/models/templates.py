"""Badge templates and the rules that award (requirements) or revoke (penalties) them."""
from __future__ import annotations

import functools
import string
import uuid
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import connections, models, router, transaction
from django.db.models import F, QuerySet

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
    is never seen twice. ``sequence`` counts the changes, only to find a process's place in
    :class:`RulebookChange`; the tokens, not the counter, prove a change follows another.
    """

    token = models.CharField(max_length=32, default="")
    previous_token = models.CharField(max_length=32, default="")
    sequence = models.BigIntegerField(default=0)
    changed = models.DateTimeField(auto_now=True)

    SINGLETON_ID = 1

    def __str__(self) -> str:
        return f"configuration version {self.token}"

    @classmethod
    def current(cls) -> str:
        """The token (see :meth:`current_state`)."""
        return cls.current_state()[0]

    @classmethod
    def current_state(cls) -> tuple[str, int]:
        """The token and sequence, read with one plain query: it runs for every event, and building
        the equivalent ORM query cost several times more than executing it."""
        connection = connections[router.db_for_read(cls)]
        with connection.cursor() as cursor:
            cursor.execute(_token_sql(connection.ops.quote_name(cls._meta.db_table)))
            row = cursor.fetchone()
        return (row[0], row[1]) if row is not None else ("", 0)

    @classmethod
    def bump(cls, template_ids: Iterable[int] | None = None) -> None:
        """Give the configuration a new token and log the change: ``template_ids`` are the templates
        whose requirements, penalties or rules it may have changed (None: anything, processes then
        rebuild everything). Inside a transaction both become visible with the change.

        The version row is updated first: its row lock orders concurrent changes, so the log's
        sequence follows commit order. Code that changes configuration with ``QuerySet.update()``
        or M2M writes outside a ``save()`` must call this itself.
        """
        token = uuid.uuid4().hex
        touched = None if template_ids is None else sorted({int(pk) for pk in template_ids if pk is not None})
        with transaction.atomic(using=router.db_for_write(cls), savepoint=False):
            # previous_token first: MariaDB assigns left to right, reading values already assigned.
            if not cls.objects.filter(pk=cls.SINGLETON_ID).update(
                previous_token=F("token"), token=token, sequence=F("sequence") + 1
            ):
                cls.objects.update_or_create(pk=cls.SINGLETON_ID,
                                             defaults={"token": token, "previous_token": "", "sequence": 1})
            previous, sequence = cls.objects.filter(pk=cls.SINGLETON_ID).values_list("previous_token", "sequence").get()
            RulebookChange.objects.create(sequence=sequence, previous_token=previous, token=token,
                                          template_ids=touched)
            if sequence % RulebookChange.PRUNE_EVERY == 0:
                RulebookChange.objects.filter(sequence__lte=sequence - RulebookChange.KEPT).delete()


class RulebookChange(models.Model):
    """One configuration change: the token it replaced, the token it set, the templates it touched.

    Append-only (the oldest rows are pruned). A process cached at token X reads the changes after
    its sequence and follows them from X to the current token: it then reloads only the templates
    they name. Where the chain breaks (a rolled-back change it had seen inside its own transaction,
    a restored database, pruned rows) or a change names no templates, it rebuilds everything.
    """

    sequence = models.BigIntegerField(db_index=True)
    previous_token = models.CharField(max_length=32)
    token = models.CharField(max_length=32)
    template_ids = models.JSONField(null=True, help_text="Templates touched; null: any configuration.")
    created = models.DateTimeField(auto_now_add=True)

    KEPT = 1000  # changes kept: a process further behind rebuilds everything
    PRUNE_EVERY = 100

    def __str__(self) -> str:
        return f"configuration change {self.sequence}"


@functools.cache
def _token_sql(table: str) -> str:
    """The token and sequence query, without parameters (the id is a constant), so no placeholder is
    rewritten per call."""
    return f"SELECT token, sequence FROM {table} WHERE id = {RulebookVersion.SINGLETON_ID:d}"  # noqa: S608 - constants


class RulebookModel(models.Model):
    """Base of every model that changes what events do: saving or deleting one bumps the version,
    naming the templates it touched (:meth:`touched_templates`), in the change's transaction (a
    change never commits without its new token)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        with transaction.atomic(using=router.db_for_write(type(self)), savepoint=False):
            super().save(*args, **kwargs)
            RulebookVersion.bump(self.touched_templates())

    def delete(self, *args, **kwargs):
        touched = self.touched_templates()
        with transaction.atomic(using=router.db_for_write(type(self)), savepoint=False):
            result = super().delete(*args, **kwargs)
            RulebookVersion.bump(touched)
        return result

    def touched_templates(self) -> set[int]:
        """The templates whose rulebook entries saving or deleting this row changes."""
        raise NotImplementedError

    @classmethod
    def templates_of(cls, queryset: QuerySet) -> set[int]:
        """The templates a bulk change of ``queryset``'s rows touches (read before the change)."""
        raise NotImplementedError


class TemplateChildModel(RulebookModel):
    """A row of one template (requirement, penalty): moving it to another template touches both."""

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance.stored_template_id = instance.__dict__.get("template_id")
        return instance

    def touched_templates(self) -> set[int]:
        return {self.template_id, getattr(self, "stored_template_id", None)} - {None}

    @classmethod
    def templates_of(cls, queryset: QuerySet) -> set[int]:
        return set(queryset.values_list("template_id", flat=True))


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

    def touched_templates(self) -> set[int]:
        return {self.pk} - {None}

    @classmethod
    def templates_of(cls, queryset: QuerySet) -> set[int]:
        return set(queryset.values_list("pk", flat=True))

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


class BadgeRequirement(TemplateChildModel, TimeStampedModel):
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

    def touched_templates(self) -> set[int]:
        return BadgeRequirement.templates_of(BadgeRequirement.objects.filter(pk=self.requirement_id))

    @classmethod
    def templates_of(cls, queryset: QuerySet) -> set[int]:
        return set(queryset.values_list("requirement__template_id", flat=True))


class BadgePenalty(TemplateChildModel, TimeStampedModel):
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

    def touched_templates(self) -> set[int]:
        return BadgePenalty.templates_of(BadgePenalty.objects.filter(pk=self.penalty_id))

    @classmethod
    def templates_of(cls, queryset: QuerySet) -> set[int]:
        return set(queryset.values_list("penalty__template_id", flat=True))
