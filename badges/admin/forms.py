"""Admin forms that enforce the rulebook's invariants with clear errors.

The checks that need the whole POST (a template activated together with its first requirement,
data rules of a requirement whose event type changes in the same save) live in the inline
formsets: Django validates them after the parent form, with the parent instance already updated.
"""
from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.utils.functional import cached_property

from badges.conf import badges_config, configured_event_types
from badges.events import event_key_paths
from badges.models import BadgePenalty, BadgeRequirement, BadgeTemplate
from badges.models.templates import GROUP_LETTERS
from badges.rules import FALSE_SPELLINGS, TRUE_SPELLINGS, parse_bool

NO_REQUIREMENT_ERROR = "A badge template cannot be active without at least one requirement."
GROUP_CHOICES = [("", "next free letter"), *((letter, letter) for letter in GROUP_LETTERS)]
# Short text areas keep a template's requirement and penalty rows within a laptop screen.
DESCRIPTION_WIDGET = forms.Textarea(attrs={"rows": 2, "cols": 28})


EVENT_TYPE_PREFIX = "org.openedx.learning."


def _event_type_choices() -> list[tuple[str, str]]:
    """Configured event types, labelled without their common prefix so the choice stays narrow."""
    return [("", "---------")] + [
        (event_type, event_type.removeprefix(EVENT_TYPE_PREFIX)) for event_type in configured_event_types()
    ]


def _marked_for_deletion(form: forms.Form) -> bool:
    return bool(getattr(form, "cleaned_data", {}).get("DELETE"))


def rule_key_paths(event_type: str) -> dict[str, Any]:
    """Key paths a data rule may test for ``event_type`` (configured events only) -> declared type."""
    if event_type not in configured_event_types():
        return {}
    return event_key_paths(event_type, badges_config()["rules"]["ignored_keypaths"])


def rule_value_error(value_type: Any, value: str) -> str | None:
    """Why ``value`` cannot be compared with a payload value of ``value_type``, or None when it can."""
    if value_type is bool:
        if parse_bool(value) is None:
            return (
                f"A true/false key path takes one of: {' '.join(TRUE_SPELLINGS)} / {' '.join(FALSE_SPELLINGS)}."
            )
    elif value_type is int:
        try:
            int(value)
        except ValueError:
            return "This key path holds a whole number."
    elif hasattr(value_type, "from_string"):  # opaque keys: CourseKey, CCXLocator...
        try:
            value_type.from_string(value)
        except Exception:
            return f"Not a valid {value_type.__name__}, e.g. course-v1:Org+Course+Run."
    return None


class BadgeTemplateAdminForm(forms.ModelForm):
    """Leaves the activation check to :class:`RequirementInlineFormSet`.

    ``BadgeTemplate.clean()`` only sees saved requirements, so it would refuse a template activated
    together with its first requirement. When the requirement inline is on the page
    (``activation_checked_by_inline``), the model is validated as inactive and the inline decides
    with the requirements this POST leaves.
    """

    activation_checked_by_inline = False

    def _post_clean(self) -> None:
        if not self.activation_checked_by_inline or not self.cleaned_data.get("is_active"):
            super()._post_clean()
            return
        self.cleaned_data["is_active"] = False
        super()._post_clean()
        self.cleaned_data["is_active"] = True
        self.instance.is_active = True


class RequirementInlineFormSet(BaseInlineFormSet):
    """Refuses an active template that this POST would leave without a requirement; new rows start
    in the template's next free group."""

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "template": self.instance}

    def clean(self) -> None:
        super().clean()
        if not self.instance.is_active:
            return
        remaining = [
            form for form in self.forms
            if (form.instance.pk is not None or form.has_changed()) and not _marked_for_deletion(form)
        ]
        if not remaining:
            raise forms.ValidationError(NO_REQUIREMENT_ERROR, code="no_requirement")


class RequirementAdminForm(forms.ModelForm):
    """The group is a letter A-Z; a new requirement starts in its template's next free group."""

    group = forms.ChoiceField(
        choices=GROUP_CHOICES, required=False,
        help_text="Requirements with the same letter are alternatives (OR); every group is needed (AND).",
    )
    event_type = forms.ChoiceField(choices=_event_type_choices)

    class Meta:
        model = BadgeRequirement
        fields = ("template", "group", "event_type", "description")
        widgets = {"description": DESCRIPTION_WIDGET}

    def __init__(self, *args: Any, template: BadgeTemplate | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if template is None and self.initial.get("template"):
            template = BadgeTemplate.objects.filter(pk=self.initial["template"]).first()
        if self.instance.pk is None and not self.initial.get("group") and template is not None and template.pk:
            self.instance.template = template
            self.initial["group"] = self.instance.next_free_group()


def requirement_label(requirement: BadgeRequirement) -> str:
    """Tells a template's requirements apart in a penalty's picker: group, then what fulfils it."""
    detail = requirement.description or " AND ".join(str(rule) for rule in requirement.rules.all())
    return f"group {requirement.group}: {detail or requirement.event_type}"


class RequirementChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: BadgeRequirement) -> str:
        return requirement_label(obj)


def requirement_choices(template: BadgeTemplate | None) -> QuerySet:
    """The requirements a penalty may take back: its template's, or any (to be checked) when unknown."""
    choices = BadgeRequirement.objects.select_related("template").prefetch_related("rules")
    return choices if template is None else choices.filter(template=template)


class PenaltyAdminForm(forms.ModelForm):
    """A penalty may only take back requirements of its own template.

    ``requirement_options``, when given, are the rendered options of the requirements field, read
    once for all the forms of a page instead of one query per form.
    """

    event_type = forms.ChoiceField(choices=_event_type_choices)
    requirements = RequirementChoiceField(
        queryset=BadgeRequirement.objects.none(), widget=forms.SelectMultiple(attrs={"size": 3}),
        help_text="The requirements whose progress this penalty takes back.",
    )

    class Meta:
        model = BadgePenalty
        fields = ("template", "event_type", "description", "requirements")
        widgets = {"description": DESCRIPTION_WIDGET}

    def __init__(self, *args: Any, template: BadgeTemplate | None = None,
                 requirement_options: list[tuple[Any, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if template is None and self.instance.template_id is not None:
            template = self.instance.template
        self.template = template
        if "requirements" in self.fields:
            self.fields["requirements"].queryset = requirement_choices(template)
            if requirement_options is not None:
                self.fields["requirements"].choices = requirement_options

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        template = cleaned.get("template") or self.template
        requirements = cleaned.get("requirements")
        if template is not None and requirements:
            foreign = [str(r) for r in requirements if r.template_id != template.pk]
            if foreign:
                self.add_error(
                    "requirements",
                    f"A penalty can only take back requirements of its own template; not: {', '.join(foreign)}.",
                )
        return cleaned


class TemplateChildFormSet(BaseInlineFormSet):
    """Inline penalties on a template page: each form knows its template, even the blank ones, and
    all share one reading of the template's requirements as options."""

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "template": self.instance,
                "requirement_options": self.requirement_options}

    @cached_property
    def requirement_options(self) -> list[tuple[Any, str]]:
        if self.instance.pk is None:
            return []
        return list(RequirementChoiceField(queryset=requirement_choices(self.instance)).choices)


class DataRuleForm(forms.ModelForm):
    """``data_path`` offers the key paths of the parent's event type (all configured ones when unknown)."""

    data_path = forms.ChoiceField(label="Key path", help_text="Key path into the event payload.")

    def __init__(self, *args: Any, event_type: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["data_path"].choices = self._path_choices(event_type)

    def _path_choices(self, event_type: str | None) -> list[tuple[str, Any]]:
        if event_type:
            groups = [(event_type, rule_key_paths(event_type))]
        else:
            groups = [(configured, rule_key_paths(configured)) for configured in configured_event_types()]
        choices: list[tuple[str, Any]] = [("", "---------")]
        offered = set()
        for group_event_type, paths in groups:
            choices.append((group_event_type, [(path, path) for path in paths]))
            offered.update(paths)
        current = self.instance.data_path
        if current and current not in offered:
            choices.append((current, f"{current} (not in this event type)"))
        return choices


class DataRuleInlineFormSet(BaseInlineFormSet):
    """Checks every rule against the event type the parent has after this POST."""

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "event_type": self.instance.event_type or None}

    def clean(self) -> None:
        super().clean()
        paths = rule_key_paths(self.instance.event_type)
        for form in self.forms:
            cleaned = getattr(form, "cleaned_data", None)
            if not cleaned or _marked_for_deletion(form) or not cleaned.get("data_path"):
                continue
            path = cleaned["data_path"]
            if path not in paths:
                form.add_error("data_path", f'"{path}" is not a key path of {self.instance.event_type}.')
                continue
            value = cleaned.get("value")
            error = rule_value_error(paths[path], value) if value is not None else None
            if error:
                form.add_error("value", error)
