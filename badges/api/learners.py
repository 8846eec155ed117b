"""Which records belong to a learner: the one place that ties an API request to stored records.

Progress and badge records carry the learner's current ``username`` (kept current on rename,
replaced on retirement), so a learner's records are found by the username of ``request.user``.
If records come to be keyed by LMS user id, only these two functions change.
"""
from __future__ import annotations

from django.db.models import QuerySet


def learner_key(user) -> str:
    """What identifies ``user``'s records: their current username."""
    return user.username


def records_of(queryset: QuerySet, learner: str) -> QuerySet:
    """The rows of ``queryset`` (progress or badge records) that belong to ``learner``."""
    return queryset.filter(username=learner)
