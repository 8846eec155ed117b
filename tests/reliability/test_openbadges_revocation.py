"""Revoking Open Badges from several processes at once: every revocation reaches the signed list.

Four ``manage.py shell`` processes, each with its own database connection, revoke interleaved
credentials of one status list at the same time (they start together on a flag file). Each
revoke reads the list, sets one bit and re-signs it; without the list's row lock a later write
drops an earlier bit and that credential verifies as not revoked.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.sites.models import Site
from django.utils import timezone

from badges.models import OpenBadgeAchievement, OpenBadgeIssuer
from badges.openbadges import documents, signing, store
from badges.openbadges.verify import LocalResolver, unverified_parts, verify_credential
from badges.testing.processes import wait_until
from tests.e2e.test_issuing_worker import database_url
from tests.reliability.summary import ScenarioSummary
from tests.reliability.web_service import ROOT, require_shared_database

pytestmark = pytest.mark.django_db(transaction=True)
PROCESSES = 4
PER_PROCESS = 15

REVOKER = """
import pathlib, time
from badges.openbadges import store
start = pathlib.Path({start!r})
pathlib.Path({ready!r}).touch()
while not start.exists():
    time.sleep(0.01)
for credential_uuid in {uuids!r}:
    store.revoke_credential(credential_uuid)
"""


def test_concurrent_revokes_from_several_processes_lose_no_bit(tmp_path: Path):
    require_shared_database()
    started = time.monotonic()
    issuer = OpenBadgeIssuer.objects.create(site=Site.objects.get_current(), name="Issuer", url="https://example.org/",
                                            email="badges@example.org", public_base_url="https://example.org")
    signing.generate_key(issuer)
    achievement = OpenBadgeAchievement.objects.create(site=issuer.site, issuer=issuer, name="Achievement",
                                                      criteria="Done.", state=OpenBadgeAchievement.State.ACTIVE)
    credentials = [store.issue_credential(achievement, username=f"learner{n}", email=f"learner{n}@example.com",
                                          issued_at=timezone.now()) for n in range(PROCESSES * PER_PROCESS)]
    start = tmp_path / "start"
    environment = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE":
                   "credentials_project.settings", "DATABASE_CONN_MAX_AGE": "0"}
    logs = [tmp_path / f"revoker{n}.log" for n in range(PROCESSES)]
    processes = []
    for n, log in enumerate(logs):
        uuids = [str(c.uuid) for c in credentials[n::PROCESSES]]
        with log.open("w") as output:
            processes.append(subprocess.Popen(
                [sys.executable, "manage.py", "shell", "-c",
                 REVOKER.format(start=str(start), ready=str(tmp_path / f"ready{n}"), uuids=uuids)],
                cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT))
    wait_until(lambda: all((tmp_path / f"ready{n}").exists() for n in range(PROCESSES)), 120,
               "the revoking processes to load")
    start.touch()
    wait_until(lambda: all(p.poll() is not None for p in processes), 120, "the revoking processes to finish")
    assert [p.returncode for p in processes] == [0] * PROCESSES, [log.read_text() for log in logs]

    status_list = credentials[0].status_list
    status_list.refresh_from_db()
    bits = documents.decode_bits(unverified_parts(status_list.signed)[1]["credentialSubject"]["encodedList"])
    lost = [c.status_index for c in credentials if not documents.bit_is_set(bits, c.status_index)]
    reported_revoked = sum(bool(verify_credential(c.signed, LocalResolver()).revoked) for c in credentials)
    ScenarioSummary("open badges revoked from 4 processes at once", events=len(credentials),
                    awards=len(credentials), provider_issues=reported_revoked, duplicates=0, lost=len(lost),
                    seconds=time.monotonic() - started).report()
    assert lost == [], f"revocations missing from the signed status list: {lost}"
    assert reported_revoked == len(credentials)
