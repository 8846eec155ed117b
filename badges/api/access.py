"""Who may call the API and see whose records, how often, and how lists are paged.

Everything is set on :class:`BadgesAPIView`, not read from the host's ``REST_FRAMEWORK``: a
Credentials-style host keeps its own defaults and still gets this API's rules.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.paginator import Page
from django.db import connections, router
from django.http import QueryDict
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
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from badges import sql
from badges.api.learners import learner_key
from badges.api.rendering import FastJSONRenderer
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


class VerifiedTokens:
    """Claims of tokens whose signature was checked, by the exact token string, until their ``exp``.

    A learner's client sends the same access token on every call until it expires; checking its
    signature and decoding it each time costs more than the rest of a progress request. A token
    not seen before (or with any other byte changed, signature included) misses and is checked in
    full; an entry is used only before the token's own ``exp`` and only while the verification keys
    (``JWT_AUTH``'s issuers and JWK set) are those it was checked with. Process-local and bounded:
    the least recently used token is dropped first.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[dict, float, tuple]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str, keys: tuple) -> dict | None:
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return None
            claims, expires_at, checked_with = entry
            if expires_at <= time.time() or checked_with != keys:
                del self._entries[token]
                return None
            self._entries.move_to_end(token)
        return dict(claims)

    def put(self, token: str, claims: dict, keys: tuple) -> None:
        expires_at = claims.get("exp")
        if not isinstance(expires_at, int | float):
            return
        with self._lock:
            self._entries[token] = (dict(claims), float(expires_at), keys)
            self._entries.move_to_end(token)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


verified_tokens = VerifiedTokens(size=1024)


def verification_keys() -> tuple:
    """What a token's signature is checked against; a cached check holds only while this is unchanged."""
    jwt_auth = settings.JWT_AUTH
    return (repr(jwt_auth.get("JWT_ISSUERS")), repr(jwt_auth.get("JWT_PUBLIC_SIGNING_JWK_SET")))


@lru_cache(maxsize=8)
def _user_sql(alias: str, model: type) -> str:
    """The plain ``SELECT`` of one user by username (:mod:`badges.sql`)."""
    connection = connections[alias]
    return sql.select_sql(connection, model, f"{sql.qualified_column(connection, model, 'username')} = %s")


def current_user(username: str):
    """The user named ``username`` as stored now, or None: one plain query.

    Building the equivalent ORM query (what ``get_or_create`` does) costs several times more than
    running it, and this runs on every JWT request. Read fresh each time, so a deactivation or a
    change of staff status counts from the next request on.
    """
    model = get_user_model()
    alias = router.db_for_write(model)  # where the library's get_or_create reads: no replica lag
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(_user_sql(alias, model), [username])
        row = cursor.fetchone()
    return None if row is None else sql.instance_from_row(connection, model, row)


class SignatureCheckingJwtAuthentication(JwtAuthentication):
    """edx-drf-extensions' JWT authentication, with the token's signature always checked.

    Its decoder first tries the asymmetric keys (``JWT_AUTH["JWT_PUBLIC_SIGNING_JWK_SET"]``) and
    accepts the token when that check passes; with no asymmetric key configured the check runs over
    an empty key set and passes for any signature, so a host that trusts only the LMS's shared
    secret would accept a token signed with any key. This checks the signature against every
    configured key (the JWK set and the first issuer's secret) before the library decodes it.

    A token checked once is not checked again until it expires (:class:`VerifiedTokens`), and the
    user is read with one plain query per request (:func:`current_user`), so a deactivated account
    is refused on its next request. Only when the user does not exist yet, or the token's claims
    differ from the stored user, does the library's own create-and-update run.
    """

    @classmethod
    def jwt_decode_token(cls, token: str) -> dict:
        keys = verification_keys()
        claims = verified_tokens.get(token, keys)
        if claims is not None:
            return claims
        claims = cls._check_and_decode(token)
        verified_tokens.put(token, claims, keys)
        return claims

    @classmethod
    def _check_and_decode(cls, token: str) -> dict:
        issuer = get_first_jwt_issuer()
        keys = get_verification_jwk_key_set(
            asymmetric_keys=settings.JWT_AUTH.get("JWT_PUBLIC_SIGNING_JWK_SET"), secret_key=issuer.get("SECRET_KEY"))
        if not keys:
            raise exceptions.AuthenticationFailed("No JWT verification key is configured.")
        verify_jwk_signature_using_keyset(token, keys, aud=issuer.get("AUDIENCE"))
        return super().jwt_decode_token(token)

    def authenticate_credentials(self, payload: dict):
        username = self._get_username_from_payload(payload)
        user = current_user(username) if username is not None else None
        if user is None or not self._matches_claims(user, payload):
            user = super().authenticate_credentials(payload)
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return user

    def _matches_claims(self, user, payload: dict) -> bool:
        """Whether the library's update from the claims would leave ``user`` as it is."""
        mergeable = self.get_jwt_claim_mergeable_attributes()
        for claim, attribute in self.get_jwt_claim_attribute_map().items():
            value = payload.get(claim)
            if attribute in mergeable:
                if value:
                    return False
            elif value is not None and getattr(user, attribute) != value:
                return False
        return True


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
    DRF's throttle keeps every request time of the period in one cache entry, rewritten on each
    request, so its cost grows with the rate (a minute at 500 requests/s is 30,000 times). This one
    keeps a count per period and weighs the previous period's count by the part of it still inside
    the sliding period ("sliding window counter"): two numbers per learner, whatever the rate.
    """

    scope = "badges_learner"

    def get_rate(self) -> str | None:
        return badges_settings.API_LEARNER_THROTTLE_RATE or None

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None or sees_everyone(request.user):
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        period = int(self.now // self.duration)
        current_key, previous_key = f"{self.key}:{period}", f"{self.key}:{period - 1}"
        counts = self.cache.get_many([current_key, previous_key])
        self.current, self.previous = counts.get(current_key, 0), counts.get(previous_key, 0)
        self.elapsed = self.now / self.duration - period
        if self.previous * (1 - self.elapsed) + self.current >= self.num_requests:
            return self.throttle_failure()
        if not self.cache.add(current_key, 1, timeout=2 * self.duration):
            try:
                self.cache.incr(current_key)
            except ValueError:  # expired between add and incr
                self.cache.add(current_key, 1, timeout=2 * self.duration)
        return True

    def wait(self) -> float | None:
        """Seconds until the weighted count falls below the rate."""
        if self.current >= self.num_requests:  # only once this period's count has slid out
            fraction = (1 - self.elapsed) + (1 - self.num_requests / self.current)
        else:
            fraction = max(0.0, 1 - (self.num_requests - self.current) / self.previous - self.elapsed)
        return fraction * self.duration


class BadgesPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_counted(self, request: Request, number: int, fetch: Callable[[int, int], tuple[list, int]]) -> list:
        """Page ``number`` (validated by :class:`PageQuery`) from ``fetch(offset, limit)``, which gives the
        page's rows and the number of all rows from one query (Django's paginator counts with a query of
        its own first)."""
        self.request = request
        page_size = self.get_page_size(request)
        rows, count = fetch((number - 1) * page_size, page_size)
        if not rows and number > 1:
            raise NotFound(self.invalid_page_message.format(page_number=number, message="The page holds no results"))
        paginator = self.django_paginator_class((), page_size)
        paginator.count = count
        self.page = Page(rows, number, paginator)
        if paginator.num_pages > 1 and self.template is not None:
            self.display_page_controls = True
        return rows


class PageQuery(serializers.Serializer):
    """The paging parameters every list takes (read by :class:`BadgesPagination`)."""

    page = serializers.IntegerField(required=False, min_value=1, help_text="Page number, from 1.")
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=BadgesPagination.max_page_size,
                                         help_text="Results per page (default 50).")


# Query strings longer than this are validated afresh each time: the cache must stay small.
_CACHED_QUERY_LENGTH = 256


def query_filters(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """The request's query parameters validated by ``serializer_class`` (a 400 when invalid).

    Validation is a pure function of the query string, and a DRF serializer costs more to build
    and run than the rest of a progress request's view; a client repeats the same query string
    call after call, so valid results are kept by exact query string (a bounded LRU).
    """
    query_string = request.META.get("QUERY_STRING", "")
    if len(query_string) > _CACHED_QUERY_LENGTH:
        return _validate(serializer_class, request.query_params)
    return dict(_validated_query(serializer_class, query_string))


@lru_cache(maxsize=512)
def _validated_query(serializer_class: type[serializers.Serializer], query_string: str) -> dict[str, Any]:
    return _validate(serializer_class, QueryDict(query_string))


def _validate(serializer_class: type[serializers.Serializer], parameters: QueryDict) -> dict[str, Any]:
    filters = serializer_class(data=parameters)
    filters.is_valid(raise_exception=True)
    return dict(filters.validated_data)


class BadgesAPIView(APIView):
    """Base of every API view: JWT as issued by the LMS, or the session (browsable API)."""

    authentication_classes = (SignatureCheckingJwtAuthentication, SessionAuthentication)
    permission_classes = (IsAuthenticated,)
    throttle_classes = (LearnerRateThrottle,)
    pagination_class = BadgesPagination
    # The browsable API renders its JSON panel with the first of these that is not itself.
    renderer_classes = (FastJSONRenderer, BrowsableAPIRenderer)
    schema = AutoSchema()

    def get_renderers(self) -> list[BaseRenderer]:
        """JSON; and the browsable API when the host installed ``rest_framework`` (it holds its templates)."""
        if apps.is_installed("rest_framework"):
            return [FastJSONRenderer(), BrowsableAPIRenderer()]
        return [FastJSONRenderer()]

    def paginate(self, request: Request, rows) -> tuple[list, PageNumberPagination]:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return list(page), paginator
