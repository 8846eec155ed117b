"""Badge providers: one module per provider behind the interface in :mod:`badges.providers.base`."""
