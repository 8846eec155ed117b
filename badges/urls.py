"""Public URLs of the badges app (mounted under ``/badges/`` by the host)."""
from django.urls import path

from badges.webhooks.credly import credly_webhook

app_name = "badges"

urlpatterns = [
    path("credly/webhook/", credly_webhook, name="credly-webhook"),
]
