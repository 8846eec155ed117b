"""Concurrent revokes and issues on one status list (PostgreSQL, MariaDB: real overlapping transactions).

Each thread has its own connection and a barrier starts them together. Without the status list's
row lock, two revokes read the same bits and the later write drops the earlier bit (a revoked
credential verifies again); two issues take the same index.
"""
from __future__ import annotations

import pytest
from django.utils import timezone

from badges.models import OpenBadgeCredential, OpenBadgeStatusList
from badges.openbadges import documents, store
from badges.openbadges.verify import LocalResolver, unverified_parts, verify_credential
from tests.concurrency import race

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("real_concurrency")]
THREADS = 6
ROUNDS = 3


def published_bits(status_list: OpenBadgeStatusList) -> bytes:
    status_list.refresh_from_db()
    encoded = unverified_parts(status_list.signed)[1]["credentialSubject"]["encodedList"]
    return documents.decode_bits(encoded)


def test_concurrent_issues_take_distinct_indexes(make_achievement):
    achievement = make_achievement()
    for round_number in range(ROUNDS):
        names = [f"learner{round_number}-{n}" for n in range(THREADS)]
        race(*[lambda name=name: store.issue_credential(achievement, username=name, email=f"{name}@example.com",
                                                        issued_at=timezone.now())
              for name in names])
    assert OpenBadgeStatusList.objects.count() == 1
    indexes = sorted(OpenBadgeCredential.objects.values_list("status_index", flat=True))
    assert indexes == list(range(THREADS * ROUNDS))


def test_concurrent_revokes_each_keep_their_bit_in_the_signed_list(make_achievement):
    achievement = make_achievement()
    credentials = [store.issue_credential(achievement, username=f"learner{n}", email=f"learner{n}@example.com",
                                          issued_at=timezone.now()) for n in range(THREADS * ROUNDS)]
    for round_number in range(ROUNDS):
        batch = credentials[round_number * THREADS:(round_number + 1) * THREADS]
        race(*[lambda credential=credential: store.revoke_credential(str(credential.uuid)) for credential in batch])

    bits = published_bits(credentials[0].status_list)
    lost = [c.status_index for c in credentials if not documents.bit_is_set(bits, c.status_index)]
    assert lost == [], f"revocations lost from the signed list: {lost}"
    assert bytes(credentials[0].status_list.bits) == bits
    assert all(verify_credential(c.signed, LocalResolver()).revoked for c in credentials)
