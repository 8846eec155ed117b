"""Webhooks providers send us: only Credly sends any (see :mod:`badges.webhooks.credly`)."""
