"""Learners and staff calling the API with JWTs signed like the LMS's, with the test host's keys."""
from __future__ import annotations

import time
import uuid

import jwt
import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from rest_framework.test import APIClient

from badges.api import catalogue
from badges.api.access import verified_tokens
from badges.models import AccredibleBadge, CredlyBadge


def jwt_for(username: str, *, administrator: bool = False, email: str = "", lms_user_id: int | None = None,
            key: str | None = None, expires_in: int = 600) -> str:
    """A JWT with the claims the LMS puts in a learner's access token."""
    issuer = settings.JWT_AUTH["JWT_ISSUERS"][0]
    now = int(time.time())
    payload = {
        "iss": issuer["ISSUER"], "aud": issuer["AUDIENCE"], "iat": now, "exp": now + expires_in,
        "preferred_username": username, "email": email or f"{username}@example.com",
        "administrator": administrator, "version": "1.2.0", "scopes": ["user_id", "email", "profile"],
        "filters": [], "is_restricted": False, "user_id": lms_user_id,
    }
    return jwt.encode(payload, key or issuer["SECRET_KEY"], algorithm="HS256")


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Throttle counts, the template catalogue and checked tokens live in process caches; each test starts from none."""
    cache.clear()
    catalogue.forget()
    verified_tokens.clear()
    yield
    cache.clear()
    catalogue.forget()
    verified_tokens.clear()


@pytest.fixture
def api_as(db):
    """``api_as("ann")``: a DRF test client sending ann's JWT (``administrator=True``: staff)."""
    def make(username: str, **claims) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"JWT {jwt_for(username, **claims)}")
        return client

    return make


@pytest.fixture
def make_badge():
    """A badge record of ``template`` for ``username``, of the template's provider."""
    def make(template, username: str, **fields):
        model = CredlyBadge if template.origin == "credly" else AccredibleBadge
        return model.objects.create(
            credential_content_type=ContentType.objects.get_for_model(type(template)),
            credential_id=template.pk, username=username, uuid=uuid.uuid4(), **fields)

    return make
