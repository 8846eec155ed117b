"""The operator's admin, one module per area; importing them registers their ModelAdmins."""
