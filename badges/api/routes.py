"""The API's resources, one route per resource module; the schema view documents exactly these."""
from django.urls import path

from badges.api.badges import BadgesView
from badges.api.progress import ProgressView
from badges.api.retirement import RetireLearnerView

urlpatterns = [
    path("progress/", ProgressView.as_view(), name="progress"),
    path("badges/", BadgesView.as_view(), name="badges"),
    path("retirement/", RetireLearnerView.as_view(), name="retire-learner"),
]
