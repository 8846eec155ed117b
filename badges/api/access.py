"""Who may call the API and see whose records, how often, and how lists are paged.

Everything is set on :class:`BadgesAPIView`, not read from the host's ``REST_FRAMEWORK``: a
Credentials-style host keeps its own defaults and still gets this API's rules.
"""
from __future__ import annotations

from django.http import HttpRequest
from drf_spectacular.openapi import AutoSchema
from edx_rest_framework_extensions.auth.jwt.authentication import JwtAuthentication
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
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


class BadgesAPIView(APIView):
    """Base of every API view: JWT as issued by the LMS, or the session (browsable API)."""

    authentication_classes = (JwtAuthentication, SessionAuthentication)
    permission_classes = (IsAuthenticated,)
    throttle_classes = (LearnerRateThrottle,)
    pagination_class = BadgesPagination
    schema = AutoSchema()

    def paginate(self, request: Request, rows) -> tuple[list, PageNumberPagination]:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return list(page), paginator
