"""URLs of the badges REST API; the host includes them under ``api/badges/v1/``."""
from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from badges.api import routes

app_name = "badges-api"

urlpatterns = [
    *routes.urlpatterns,
    path("schema/", SpectacularAPIView.as_view(
        authentication_classes=(), permission_classes=(), urlconf=routes.__name__,
        custom_settings={
            "TITLE": "Badges API", "VERSION": "1.0.0", "SCHEMA_PATH_PREFIX_INSERT": "/api/badges/v1",
            "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
            "DESCRIPTION": "Learners' badges and their progress towards badge templates.",
        },
    ), name="schema"),
]
