"""Provider accounts: Credly organizations and Accredible API configs, with their sync actions.

API keys are write-only here: the key field never renders its value, list and change pages never
show it, and leaving it blank on change keeps the stored key. Saving checks the key against the
provider first, so a bad key or an unknown organization is a form error and nothing is saved.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.sites.shortcuts import get_current_site
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from badges.admin.base import BadgesEnabledMixin, guarded_delete_action
from badges.conf import preconfigured_credly_keys
from badges.models import AccredibleAPIConfig, CredlyOrganization, RulebookVersion
from badges.models.accounts import CREDLY_KEY_EXPIRY_WARNING
from badges.providers.base import PermanentProviderError, ProviderError
from badges.providers.registry import provider_for_account
from badges.sync import sync_each

KEY_FROM_SETTINGS = "Taken from BADGES_CONFIG['credly']['ORGANIZATIONS'] (settings); not stored here."
KEY_STORED = "Stored; hidden. Type a new key to replace it."
KEY_CHARACTERS_ERROR = (
    "A key holds only printable ASCII characters (letters, digits, punctuation). This one has another "
    "character, often a curly quote or a non-breaking space picked up when copying; type or paste it again."
)
OWNS_ACTIVE_TEMPLATES = "they own active templates; deactivate those first"
EXPIRY_KEY_FROM_SETTINGS = "key from settings"
EXPIRY_UNKNOWN = "unknown (set before tracking)"


def secret_key_field(help_text: str) -> forms.CharField:
    return forms.CharField(
        required=False,
        strip=True,
        max_length=255,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=help_text,
    )


def validation_error(provider_name: str, error: ProviderError) -> forms.ValidationError:
    """A form error that says what the provider answered (the error text never holds the key)."""
    if isinstance(error, PermanentProviderError):
        return forms.ValidationError(
            f"{provider_name} rejected these credentials ({error}). Check the key and, for Credly, the "
            "organization ID."
        )
    return forms.ValidationError(f"{provider_name} could not be reached to check the key ({error}); try again.")


class AccountKeyForm(forms.ModelForm):
    """Shared key handling: blank on change keeps the stored key; the key is checked before saving."""

    provider_name = ""
    api_key = secret_key_field("")

    def clean_api_key(self) -> str:
        """HTTP headers carry only Latin-1, and provider keys are plain ASCII: refuse anything else here."""
        key = self.cleaned_data["api_key"]
        if key and not (key.isascii() and key.isprintable()):
            raise forms.ValidationError(KEY_CHARACTERS_ERROR, code="key_characters")
        return key

    def entered_or_stored_key(self) -> str:
        return self.cleaned_data.get("api_key") or (self.instance.api_key if self.instance.pk else "")

    def check_account(self, account: CredlyOrganization | AccredibleAPIConfig) -> str:
        """The account's name at the provider; raises a form error when the provider refuses."""
        try:
            return provider_for_account(account).fetch_account_name()
        except ProviderError as error:
            raise validation_error(self.provider_name, error) from None


class CredlyOrganizationAdminForm(AccountKeyForm):
    provider_name = "Credly"
    api_key = secret_key_field(
        "The organization's authorization token. Not needed for organizations listed in "
        "BADGES_CONFIG['credly']['ORGANIZATIONS']: their key comes from settings."
    )

    class Meta:
        model = CredlyOrganization
        fields = ("uuid", "api_key")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        org_uuid = cleaned.get("uuid") or self.instance.uuid
        if not org_uuid or self.errors:
            return cleaned
        preconfigured = str(org_uuid).lower() in preconfigured_credly_keys()
        key = "" if preconfigured else self.entered_or_stored_key()
        if not preconfigured and not key:
            raise forms.ValidationError({"api_key": "Enter the organization's authorization token."})
        probe = CredlyOrganization(uuid=org_uuid, api_key=key)
        self.instance.name = self.check_account(probe)
        self.track_key_change(key)
        cleaned["api_key"] = key
        return cleaned

    def track_key_change(self, key: str) -> None:
        """Credly tokens expire a fixed time after creation: note when a new one is stored.

        ``self.instance.api_key`` still holds the stored key here (the form copies cleaned data
        onto the instance after ``clean()``), so a blank or identical entry keeps the old time.
        """
        if not key:
            self.instance.api_key_set_at = None
        elif key != self.instance.api_key:
            self.instance.api_key_set_at = timezone.now()


class AccredibleAPIConfigAdminForm(AccountKeyForm):
    provider_name = "Accredible"
    api_key = secret_key_field("The Accredible API key.")

    class Meta:
        model = AccredibleAPIConfig
        fields = ("name", "api_key")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        key = self.entered_or_stored_key()
        if not key:
            raise forms.ValidationError({"api_key": "Enter the Accredible API key."})
        self.check_account(AccredibleAPIConfig(name=cleaned.get("name", ""), api_key=key))
        cleaned["api_key"] = key
        return cleaned


class AccountAdmin(BadgesEnabledMixin, admin.ModelAdmin):
    """Runs a sync per selected account and reports each one; a failure does not stop the rest.

    Deleting an account deletes its templates (cascade), so an account owning an active template
    cannot be deleted (as an active template cannot), and every delete bumps the rulebook
    version: the cascade bypasses ``BadgeTemplate.delete()``.
    """

    templates_relation = ""

    def key_input(self, request: HttpRequest, obj: CredlyOrganization | AccredibleAPIConfig | None) -> tuple[str, ...]:
        """The key's password input, for those who may change the account only.

        Django shows every field of a view-only page as text, and the model holds the decrypted
        key: without this, a view-only user would read it. Nobody else sees more than ``key_source``.
        """
        return ("api_key",) if self.has_change_permission(request, obj) or obj is None else ()

    def owns_active_templates(self, account: CredlyOrganization | AccredibleAPIConfig) -> bool:
        return getattr(account, self.templates_relation).filter(is_active=True).exists()

    def has_delete_permission(self, request: HttpRequest,
                              obj: CredlyOrganization | AccredibleAPIConfig | None = None) -> bool:
        if obj is not None and self.owns_active_templates(obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request: HttpRequest, obj: CredlyOrganization | AccredibleAPIConfig) -> None:
        with transaction.atomic():
            super().delete_model(request, obj)
            RulebookVersion.bump()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        with transaction.atomic():
            super().delete_queryset(request, queryset)
            RulebookVersion.bump()

    def run_sync(self, request: HttpRequest, queryset: QuerySet) -> None:
        """New templates belong to the site the operator is on (the request's host), not always SITE_ID."""
        for outcome in sync_each(queryset, site=get_current_site(request)):
            self.message_user(request, str(outcome), messages.SUCCESS if outcome.ok else messages.ERROR)


@admin.register(CredlyOrganization)
class CredlyOrganizationAdmin(AccountAdmin):
    form = CredlyOrganizationAdminForm
    list_display = ("name", "uuid", "key_source", "key_expires", "modified")
    search_fields = ("name", "uuid")
    templates_relation = "templates"
    actions = (
        guarded_delete_action(Q(templates__is_active=True), OWNS_ACTIVE_TEMPLATES),
        "sync_organization_badge_templates",
    )

    def get_fields(self, request: HttpRequest, obj: CredlyOrganization | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("uuid", *self.key_input(request, obj))
        if obj.is_preconfigured:
            return ("uuid", "name", "key_source", "key_expires")
        return ("uuid", "name", "key_source", "key_expires", *self.key_input(request, obj))

    def get_readonly_fields(self, request: HttpRequest, obj: CredlyOrganization | None = None) -> tuple[str, ...]:
        return () if obj is None else ("uuid", "name", "key_source", "key_expires")

    @admin.display(description="API key")
    def key_source(self, obj: CredlyOrganization) -> str:
        return KEY_FROM_SETTINGS if obj.is_preconfigured else KEY_STORED

    @admin.display(description="Key expires", ordering="api_key_set_at")
    def key_expires(self, obj: CredlyOrganization) -> str | SafeString:
        """Expected expiry date of the stored key, with a warning when it is near or past."""
        if obj.is_preconfigured:
            return EXPIRY_KEY_FROM_SETTINGS
        expires_at = obj.api_key_expires_at
        if expires_at is None:
            return EXPIRY_UNKNOWN
        expiry_date = timezone.localdate(expires_at)
        remaining = expires_at - timezone.now()
        if remaining <= timedelta(0):
            warning = "expired"
        elif remaining < CREDLY_KEY_EXPIRY_WARNING:
            days_left = (expiry_date - timezone.localdate()).days
            warning = "expires today" if days_left == 0 else f"expires in {days_left} day{pluralize(days_left)}"
        else:
            return expiry_date.isoformat()
        return format_html('{} <strong style="color: #ba2121;">\u26a0 {}: enter a new key</strong>',
                           expiry_date.isoformat(), warning)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """Lists, above the list, the organizations whose stored key needs replacing soon."""
        response = super().changelist_view(request, extra_context)
        if request.method == "GET" and isinstance(response, TemplateResponse):
            self.warn_about_expiring_keys(request)
        return response

    def warn_about_expiring_keys(self, request: HttpRequest) -> None:
        expiring = list(CredlyOrganization.with_stored_key_expiring().only("uuid", "name", "api_key_set_at"))
        if not expiring:
            return
        days = CREDLY_KEY_EXPIRY_WARNING.days
        listed = ", ".join(
            f"{org} ({timezone.localdate(org.api_key_expires_at).isoformat()})" for org in expiring
        )
        self.message_user(
            request,
            f"Credly keys expiring within {days} days or already expired: {listed}. Create a new "
            "authorization token at Credly and enter it on the organization's page.",
            messages.WARNING,
        )

    @admin.action(permissions=["change"], description="Sync organization badge templates")
    def sync_organization_badge_templates(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.run_sync(request, queryset)


@admin.register(AccredibleAPIConfig)
class AccredibleAPIConfigAdmin(AccountAdmin):
    form = AccredibleAPIConfigAdminForm
    list_display = ("name", "key_source", "modified")
    search_fields = ("name",)
    templates_relation = "groups"
    actions = (guarded_delete_action(Q(groups__is_active=True), OWNS_ACTIVE_TEMPLATES), "sync_groups")

    def get_fields(self, request: HttpRequest, obj: AccredibleAPIConfig | None = None) -> tuple[str, ...]:
        fields = ("name",) if obj is None else ("name", "key_source")
        return (*fields, *self.key_input(request, obj))

    def get_readonly_fields(self, request: HttpRequest, obj: AccredibleAPIConfig | None = None) -> tuple[str, ...]:
        return () if obj is None else ("key_source",)

    @admin.display(description="API key")
    def key_source(self, obj: AccredibleAPIConfig) -> str:
        return KEY_STORED

    @admin.action(permissions=["change"], description="Sync groups")
    def sync_groups(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.run_sync(request, queryset)
