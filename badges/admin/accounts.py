"""Provider accounts: Credly organizations and Accredible API configs, with their sync actions.

API keys are write-only here: the key field never renders its value, list and change pages never
show it, and leaving it blank on change keeps the stored key. Saving checks the key against the
provider first, so a bad key or an unknown organization is a form error and nothing is saved.
"""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from badges.admin.base import BadgesEnabledMixin
from badges.conf import preconfigured_credly_keys
from badges.models import AccredibleAPIConfig, CredlyOrganization
from badges.providers.base import PermanentProviderError, ProviderError
from badges.providers.registry import provider_for_account
from badges.sync import sync_each

KEY_FROM_SETTINGS = "Taken from BADGES_CONFIG['credly']['ORGANIZATIONS'] (settings); not stored here."
KEY_STORED = "Stored; hidden. Type a new key to replace it."


def secret_key_field(help_text: str) -> forms.CharField:
    return forms.CharField(
        required=False,
        strip=True,
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
        cleaned["api_key"] = key
        return cleaned


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
    """Runs a sync per selected account and reports each one; a failure does not stop the rest."""

    def run_sync(self, request: HttpRequest, queryset: QuerySet) -> None:
        for outcome in sync_each(queryset):
            self.message_user(request, str(outcome), messages.SUCCESS if outcome.ok else messages.ERROR)


@admin.register(CredlyOrganization)
class CredlyOrganizationAdmin(AccountAdmin):
    form = CredlyOrganizationAdminForm
    list_display = ("name", "uuid", "key_source", "modified")
    search_fields = ("name", "uuid")
    actions = ("sync_organization_badge_templates",)

    def get_fields(self, request: HttpRequest, obj: CredlyOrganization | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("uuid", "api_key")
        if obj.is_preconfigured:
            return ("uuid", "name", "key_source")
        return ("uuid", "name", "key_source", "api_key")

    def get_readonly_fields(self, request: HttpRequest, obj: CredlyOrganization | None = None) -> tuple[str, ...]:
        return () if obj is None else ("uuid", "name", "key_source")

    @admin.display(description="API key")
    def key_source(self, obj: CredlyOrganization) -> str:
        return KEY_FROM_SETTINGS if obj.is_preconfigured else KEY_STORED

    @admin.action(permissions=["change"], description="Sync organization badge templates")
    def sync_organization_badge_templates(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.run_sync(request, queryset)


@admin.register(AccredibleAPIConfig)
class AccredibleAPIConfigAdmin(AccountAdmin):
    form = AccredibleAPIConfigAdminForm
    list_display = ("name", "key_source", "modified")
    search_fields = ("name",)
    actions = ("sync_groups",)

    def get_fields(self, request: HttpRequest, obj: AccredibleAPIConfig | None = None) -> tuple[str, ...]:
        return ("name", "api_key") if obj is None else ("name", "key_source", "api_key")

    def get_readonly_fields(self, request: HttpRequest, obj: AccredibleAPIConfig | None = None) -> tuple[str, ...]:
        return () if obj is None else ("key_source",)

    @admin.display(description="API key")
    def key_source(self, obj: AccredibleAPIConfig) -> str:
        return KEY_STORED

    @admin.action(permissions=["change"], description="Sync groups")
    def sync_groups(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.run_sync(request, queryset)
