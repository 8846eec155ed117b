"""Who may call the API and see whose records, how often, and how lists are paged.

Everything is set on :class:`BadgesAPIView`, not read from the host's ``REST_FRAMEWORK``: a
Credentials-style host keeps its own defaults and still gets this API's rules.
"""
from __future__ import annotations

from django.apps import apps
from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from edx_rest_framework_extensions.auth.jwt.authentication import JwtAuthentication
from edx_rest_framework_extensions.auth.jwt.decoder import (
    get_verification_jwk_key_set,
    verify_jwk_signature_using_keyset,
)
from edx_rest_framework_extensions.settings import get_first_jwt_issuer
from rest_framework import exceptions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from badges.api.learners import learner_key
from badges.conf import badges_settings


def sees_everyone(user) -> bool:
    """Staff, or holders of ``BADGES_API_STAFF_PERMISSION`` when one is configured."""
    if not user.is_authenticated or not user.is_active:
        return False
    permission = badges_settings.API_STAFF_PERMISSION
    return bool(user.is_staff or (permission and user.has_perm(permission)))


def requested_learner(request: Request, asked: str, *, everyone: bool = False) -> str | None:
    """The learner whose records the request asks for: ``asked`` (``?username=``) or the caller.

    With ``everyone``, staff who name nobody get None: every learner's records. Anyone but staff
    naming another username gets the same 403 whether that username exists or not, so the API
    never tells who has an account.
    """
    own = learner_key(request.user)
    if not asked:
        return None if everyone and sees_everyone(request.user) else own
    if asked == own:
        return own
    if not sees_everyone(request.user):
        raise exceptions.PermissionDenied("You may only see your own badge records.")
    return asked


class SignatureCheckingJwtAuthentication(JwtAuthentication):
    """edx-drf-extensions' JWT authentication, with the token's signature always checked.

    Its decoder first tries the asymmetric keys (``JWT_AUTH["JWT_PUBLIC_SIGNING_JWK_SET"]``) and
    accepts the token when that check passes; with no asymmetric key configured the check runs over
    an empty key set and passes for any signature, so a host that trusts only the LMS's shared
    secret would accept a token signed with any key. This checks the signature against every
    configured key (the JWK set and the first issuer's secret) before the library decodes it.
    """

    @classmethod
    def jwt_decode_token(cls, token: str) -> dict:
        issuer = get_first_jwt_issuer()
        keys = get_verification_jwk_key_set(
            asymmetric_keys=settings.JWT_AUTH.get("JWT_PUBLIC_SIGNING_JWK_SET"), secret_key=issuer.get("SECRET_KEY"))
        if not keys:
            raise exceptions.AuthenticationFailed("No JWT verification key is configured.")
        verify_jwk_signature_using_keyset(token, keys, aud=issuer.get("AUDIENCE"))
        return super().jwt_decode_token(token)


class LmsJwtScheme(OpenApiAuthenticationExtension):
    """How the schema describes the JWT authentication: the LMS's ``Authorization: JWT <token>`` header."""

    target_class = SignatureCheckingJwtAuthentication
    name = "lmsJwt"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict:
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": 'A JWT access token issued by the LMS, sent as "JWT <token>".'}


class LearnerRateThrottle(UserRateThrottle):
    """Per-user rate from ``BADGES_API_LEARNER_THROTTLE_RATE`` (empty: not throttled); staff are exempt.

    The rate comes from the app's setting rather than the host's ``DEFAULT_THROTTLE_RATES``.
    """

    scope = "badges_learner"

    def get_rate(self) -> str | None:
        return badges_settings.API_LEARNER_THROTTLE_RATE or None

    def allow_request(self, request: Request, view: APIView) -> bool:
        if sees_everyone(request.user):
            return True
        return super().allow_request(request, view)


class BadgesPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class PageQuery(serializers.Serializer):
    """The paging parameters every list takes (read by :class:`BadgesPagination`)."""

    page = serializers.IntegerField(required=False, min_value=1, help_text="Page number, from 1.")
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=BadgesPagination.max_page_size,
                                         help_text="Results per page (default 50).")


class BadgesAPIView(APIView):
    """Base of every API view: JWT as issued by the LMS, or the session (browsable API)."""

    authentication_classes = (SignatureCheckingJwtAuthentication, SessionAuthentication)
    permission_classes = (IsAuthenticated,)
    throttle_classes = (LearnerRateThrottle,)
    pagination_class = BadgesPagination
    schema = AutoSchema()

    def get_renderers(self) -> list[BaseRenderer]:
        """JSON; and the browsable API when the host installed ``rest_framework`` (it holds its templates)."""
        if apps.is_installed("rest_framework"):
            return [JSONRenderer(), BrowsableAPIRenderer()]
        return [JSONRenderer()]

    def paginate(self, request: Request, rows) -> tuple[list, PageNumberPagination]:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return list(page), paginator
