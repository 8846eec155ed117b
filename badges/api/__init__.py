"""The badges REST API (``/api/badges/v1/``): one module per resource, shared access rules in ``access``.

The host includes ``badges.api.urls`` under ``api/badges/v1/``. Authentication, permissions,
throttling, pagination and the schema class are set on the views themselves, so the API behaves the
same whatever the host's ``REST_FRAMEWORK`` defaults are.
"""
