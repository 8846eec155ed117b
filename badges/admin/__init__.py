"""The operator's admin, one module per area; importing them registers their ModelAdmins."""
from badges.admin import accounts, awards, openbadges, progress, requirements, templates, webhooks  # noqa: F401
