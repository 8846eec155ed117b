"""URLs of the badges REST API; the host mounts them under ``/api/badges/v1/``."""
from django.urls import path

from badges.api.retirement import RetireLearnerView

app_name = "badges_api"

urlpatterns = [
    path("retirement/", RetireLearnerView.as_view(), name="retire-learner"),
]
