"""Public Open Badges URLs: issuer profile, keys, achievements, credentials, status lists, verification.

Everything here is public (a verifier anywhere must reach it) and read-only, except the
verification endpoint, which reads nothing but this service's own published keys and lists.
"""
from __future__ import annotations

import json

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from badges.models import (
    OpenBadgeAchievement,
    OpenBadgeCredential,
    OpenBadgeIssuer,
    OpenBadgeSigningKey,
    OpenBadgeStatusList,
)
from badges.openbadges import baking, documents
from badges.openbadges.signing import jwk_set, published_jwk
from badges.openbadges.store import achievement_of, issuer_profile
from badges.openbadges.verify import JWT_TYPE, LocalResolver, token_of, unverified_parts, verify_credential

MAX_VERIFY_BODY = 200_000


def _json(document: dict, content_type: str = "application/json") -> JsonResponse:
    response = JsonResponse(document, content_type=content_type, json_dumps_params={"indent": 2})
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def issuer(request: HttpRequest, issuer_uuid: str) -> JsonResponse:
    found = get_object_or_404(OpenBadgeIssuer, uuid=issuer_uuid)
    return _json({"@context": [documents.VC_CONTEXT, documents.OB_CONTEXT], **documents.issuer_profile(
        issuer_profile(found))})


@require_GET
def jwks(request: HttpRequest, issuer_uuid: str) -> JsonResponse:
    return _json(jwk_set(get_object_or_404(OpenBadgeIssuer, uuid=issuer_uuid)), "application/jwk-set+json")


@require_GET
def key(request: HttpRequest, issuer_uuid: str, kid: str) -> JsonResponse:
    found = get_object_or_404(OpenBadgeSigningKey.objects.select_related("issuer"), issuer__uuid=issuer_uuid, kid=kid)
    return _json(published_jwk(found), "application/jwk+json")


@require_GET
def achievement(request: HttpRequest, achievement_uuid: str) -> JsonResponse:
    found = get_object_or_404(OpenBadgeAchievement.objects.select_related("issuer"), uuid=achievement_uuid)
    return _json({"@context": [documents.VC_CONTEXT, documents.OB_CONTEXT],
                  **documents.achievement(achievement_of(found))})


@require_GET
def status_list(request: HttpRequest, list_uuid: str) -> HttpResponse:
    found = get_object_or_404(OpenBadgeStatusList, uuid=list_uuid)
    response = HttpResponse(found.signed, content_type=JWT_TYPE)
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def credential(request: HttpRequest, credential_uuid: str) -> HttpResponse:
    """The learner's credential: the signed VC-JWT, its JSON form (an enveloped verifiable credential,
    as VC Data Model 2.0 writes a JWT-secured credential in JSON) or a page for people.

    ``?format=jwt|json|html`` chooses; without it the Accept header does (HTML by default).
    """
    found = get_object_or_404(OpenBadgeCredential, uuid=credential_uuid)
    wanted = request.GET.get("format") or next(
        (name for name, media in (("jwt", JWT_TYPE), ("json", "application/json"), ("json", "application/ld+json"))
         if media in request.headers.get("Accept", "")), "html")
    if wanted == "jwt":
        response = HttpResponse(found.signed, content_type=JWT_TYPE)
        response["Access-Control-Allow-Origin"] = "*"
        return response
    if wanted == "json":
        return _json(enveloped(found.signed))
    if wanted != "html":
        raise Http404(f"Unknown format {wanted!r}")
    _, claims = unverified_parts(found.signed)
    subject = claims["credentialSubject"]["achievement"]
    return render(request, "badges/openbadges/credential.html", {
        "credential": found, "claims": claims, "achievement": subject, "issuer": claims["issuer"],
        "revoked": found.revoked_at is not None, "pretty": json.dumps(claims, indent=2),
    })


@require_GET
def baked_image(request: HttpRequest, credential_uuid: str) -> HttpResponse:
    """The badge image (PNG) with the signed credential baked in, to download."""
    found = get_object_or_404(OpenBadgeCredential, uuid=credential_uuid)
    response = HttpResponse(baking.baked_png(found.signed), content_type="image/png")
    response["Content-Disposition"] = f'attachment; filename="open-badge-{found.uuid}.png"'
    return response


def enveloped(token: str) -> dict:
    return {"@context": [documents.VC_CONTEXT], "id": f"data:{JWT_TYPE},{token}",
            "type": "EnvelopedVerifiableCredential"}


@csrf_exempt
@require_POST
def verify(request: HttpRequest) -> JsonResponse:
    """Verify a VC-JWT this service issued (body: the compact token, or JSON ``{"credential": token}``).

    Only this service's own keys and status lists are consulted: the endpoint makes no outbound
    request, so it cannot be used to reach other hosts. 200 with ``valid`` and ``reasons``; 400
    when the body holds no token.
    """
    if len(request.body) > MAX_VERIFY_BODY:
        return JsonResponse({"error": f"The body is larger than {MAX_VERIFY_BODY} bytes."}, status=413)
    token = token_of(request.body)
    if token is None:
        return JsonResponse({"error": "Send the credential as a compact VC-JWT, or as JSON "
                                      '{"credential": "<VC-JWT>"}.'}, status=400)
    return _json(verify_credential(token, LocalResolver()).as_dict())
