"""The operator's admin, one module per area; importing them registers their ModelAdmins."""
from badges.admin import progress, requirements, templates  # noqa: F401
