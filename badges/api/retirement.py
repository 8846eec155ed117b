"""The retirement endpoint the LMS retirement pipeline calls once a learner's account is retired.

Authenticated like the rest of the API (a JWT from the LMS, its signature checked against the
configured keys, or a session); allowed to staff and to the users named in
``BADGES_RETIREMENT_SERVICE_USERNAMES``; not throttled (the pipeline is a service).
"""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from badges.api.access import BadgesAPIView
from badges.conf import badges_settings
from badges.identity import LMS_USER_ID_MAX, retire_learner


class CanRetireLearners(permissions.BasePermission):
    """Staff, or the retirement pipeline's service user."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and (
            user.is_staff or user.get_username() in badges_settings.RETIREMENT_SERVICE_USERNAMES))


class RetirementRequest(serializers.Serializer):
    lms_user_id = serializers.IntegerField(required=False, min_value=0, max_value=LMS_USER_ID_MAX)
    username = serializers.CharField(required=False, max_length=255)

    def validate(self, attrs: dict) -> dict:
        if "lms_user_id" not in attrs and not attrs.get("username"):
            raise serializers.ValidationError("Give the learner's lms_user_id or username.")
        return attrs


@extend_schema(request=RetirementRequest, responses={200: OpenApiTypes.OBJECT, 503: OpenApiTypes.OBJECT},
               summary="Erase a retired learner's personal data (retirement pipeline)")
class RetireLearnerView(BadgesAPIView):
    """``POST {"lms_user_id": 42}`` or ``{"username": "..."}``: 200 with what was rewritten; again: 200, nothing."""

    permission_classes = (CanRetireLearners,)
    throttle_classes = ()

    def post(self, request: Request) -> Response:
        query = RetirementRequest(data=request.data)
        query.is_valid(raise_exception=True)
        try:
            result = retire_learner(**query.validated_data)
        except ValueError as exc:  # the salts are not configured: nothing was changed
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response({"retired": result.changed, "users": result.users, "progress": result.progress,
                         "badges": result.badges, "events": result.events})
