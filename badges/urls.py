"""Public URLs of the badges app (mounted under ``/badges/`` by the host)."""
urlpatterns: list = []
