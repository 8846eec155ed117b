"""Self-issued Open Badges: the issuer profile of each site with its signing keys, and achievements.

Achievements are created here (there is no vendor to sync them from) and take part in rules like
any template. Keys are generated here, never typed in: the private part is stored encrypted and
never shown; rotating retires the signing key, which stays published so what it signed verifies.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from badges.admin.awards import ProviderBadgeAdmin
from badges.admin.base import BadgesEnabledMixin
from badges.admin.templates import BadgeTemplateAdmin, PenaltyInline, RequirementInline
from badges.models import OpenBadge, OpenBadgeAchievement, OpenBadgeIssuer, OpenBadgeSigningKey
from badges.openbadges import signing, store


class SigningKeyInline(admin.TabularInline):
    """The issuer's keys, read-only: the public part's id and when each was made or retired."""

    model = OpenBadgeSigningKey
    fields = ("kid", "created", "retired_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(OpenBadgeIssuer)
class OpenBadgeIssuerAdmin(BadgesEnabledMixin, admin.ModelAdmin):
    list_display = ("name", "site", "email", "public_base_url", "signing_key")
    fields = ("name", "site", "url", "email", "image", "public_base_url", "profile_link", "jwks_link")
    readonly_fields = ("profile_link", "jwks_link")
    inlines = (SigningKeyInline,)
    actions = ("rotate_signing_key",)

    def save_model(self, request: HttpRequest, obj: OpenBadgeIssuer, form, change: bool) -> None:
        """A new issuer gets its first signing key at once, so it can issue."""
        super().save_model(request, obj, form, change)
        if not obj.keys.exists():
            key = signing.generate_key(obj)
            self.message_user(request, f"Generated the signing key {key.kid}.")

    @admin.action(permissions=["change"], description="Rotate the signing key (old keys keep verifying)")
    def rotate_signing_key(self, request: HttpRequest, queryset: QuerySet) -> None:
        for issuer in queryset:
            key = store.rotate_signing_key(issuer)
            self.message_user(request, f"{issuer}: new signing key {key.kid}; earlier keys retired and still "
                                       "published.", messages.SUCCESS)

    @admin.display(description="signing key")
    def signing_key(self, obj: OpenBadgeIssuer) -> str:
        key = obj.keys.filter(retired_at__isnull=True).first()
        return key.kid if key else "none: rotate to generate one"

    @admin.display(description="issuer profile (public)")
    def profile_link(self, obj: OpenBadgeIssuer) -> str:
        return format_html('<a href="{0}">{0}</a>', obj.profile_id) if obj.pk else "-"

    @admin.display(description="JWK Set (public)")
    def jwks_link(self, obj: OpenBadgeIssuer) -> str:
        return format_html('<a href="{0}">{0}</a>', obj.jwks_url) if obj.pk else "-"


@admin.register(OpenBadgeAchievement)
class OpenBadgeAchievementAdmin(BadgeTemplateAdmin):
    """Unlike synced templates, every field here is the operator's."""

    account_field = "issuer"
    inlines = (RequirementInline, PenaltyInline)

    def get_fields(self, request: HttpRequest, obj: OpenBadgeAchievement | None = None) -> tuple[str, ...]:
        return ("image", "issuer", "site", "name", "description", "criteria", "icon", "tags", "valid_days",
                "state", "is_active", "uuid")

    def get_readonly_fields(self, request: HttpRequest, obj: OpenBadgeAchievement | None = None) -> tuple[str, ...]:
        return ("image", "uuid")

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Created here, not synced: skip the synced templates' refusal, keep the feature switch."""
        return super(BadgeTemplateAdmin, self).has_add_permission(request)

    def dashboard_url(self, obj: OpenBadgeAchievement) -> str:
        """No vendor dashboard: the achievement as this service publishes it."""
        return obj.achievement_id


@admin.register(OpenBadge)
class OpenBadgeAdmin(ProviderBadgeAdmin):
    external_id_field = "credential_uuid"

    def get_fields(self, request: HttpRequest, obj=None) -> tuple[str, ...]:
        return (*super().get_fields(request, obj), "learner_url")

    @admin.display(description="learner's URL")
    def learner_url(self, obj: OpenBadge) -> str:
        if obj.credential_uuid is None:
            return "-"
        url = store.credential_url(obj.credential.issuer, obj.credential_uuid)
        return format_html('<a href="{0}">{0}</a>', url)
