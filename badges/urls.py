"""Public URLs of the badges app (mounted under ``/badges/`` by the host)."""
from django.urls import path

from badges.openbadges import views as openbadges
from badges.webhooks.credly import credly_webhook

app_name = "badges"

urlpatterns = [
    path("credly/webhook/", credly_webhook, name="credly-webhook"),
    path("openbadges/issuers/<uuid:issuer_uuid>/", openbadges.issuer, name="openbadges-issuer"),
    path("openbadges/issuers/<uuid:issuer_uuid>/jwks/", openbadges.jwks, name="openbadges-jwks"),
    path("openbadges/issuers/<uuid:issuer_uuid>/keys/<str:kid>/", openbadges.key, name="openbadges-key"),
    path("openbadges/achievements/<uuid:achievement_uuid>/", openbadges.achievement, name="openbadges-achievement"),
    path("openbadges/credentials/<uuid:credential_uuid>/", openbadges.credential, name="openbadges-credential"),
    path("openbadges/credentials/<uuid:credential_uuid>/image.png", openbadges.baked_image,
         name="openbadges-baked-image"),
    path("openbadges/status/<uuid:list_uuid>/", openbadges.status_list, name="openbadges-status-list"),
    path("openbadges/verify/", openbadges.verify, name="openbadges-verify"),
]
