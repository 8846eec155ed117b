"""The app's REST API under ``/api/badges/v1/`` (Django REST framework)."""
