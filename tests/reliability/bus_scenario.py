"""Pieces the bus scenarios share: a producer process, progress reads, the final outcome."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from badges.management.commands.seed_demo import DEMO_COURSES
from badges.testing.fake_provider import FakeProviderProcess
from tests.e2e.bus_support import ROOT, query

PRODUCER = """
import io
import time
from django.core.management import call_command
for number in range({learners}):
    call_command("send_demo_events", username=f"{prefix}-{{number:03d}}", courses={courses!r}, stdout=io.StringIO())
    time.sleep({pause})
"""

OUTCOME = """
from badges.models import CredlyBadge, ReceivedEvent
events = ReceivedEvent.objects.filter(username__startswith={prefix!r})
processed = list(events.filter(status="processed").values_list("username", flat=True))
result = {{
    "processed": len(processed),
    "recorded": events.count(),
    "learners_with_both_events": sum(1 for u in set(processed) if processed.count(u) == 2),
    "badges": list(CredlyBadge.objects.filter(username__startswith={prefix!r})
                   .values_list("username", "external_uuid")),
}}
"""


def start_producer(env: dict[str, str], prefix: str, learners: int, pause: float, log: Path) -> subprocess.Popen:
    """One process publishing both demo courses' passing events for ``learners`` learners named
    ``<prefix>-000``..., ``pause`` seconds apart."""
    script = textwrap.dedent(PRODUCER).format(learners=learners, prefix=prefix, pause=pause,
                                              courses=[DEMO_COURSES["A"], DEMO_COURSES["B"]])
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def outcome(env: dict[str, str], prefix: str) -> dict[str, Any]:
    """Processed events, learners with both events processed, and badges (username, external id)."""
    return query(env, textwrap.dedent(OUTCOME).format(prefix=prefix))


def issued_at_provider(fake: FakeProviderProcess, prefix: str) -> list[dict]:
    return [b for b in fake.control.credly_badges() if b["recipient_email"].startswith(f"{prefix}-")]


def wait_for_drain(count: Callable[[], int], expected: int, idle_seconds: float = 10, limit: float = 90) -> None:
    """Wait until ``count()`` reaches ``expected`` or stops growing for ``idle_seconds`` (what is still
    missing then was lost), at most ``limit`` seconds."""
    deadline = time.monotonic() + limit
    last, last_change = count(), time.monotonic()
    while last < expected and time.monotonic() - last_change < idle_seconds and time.monotonic() < deadline:
        time.sleep(0.5)
        current = count()
        if current != last:
            last, last_change = current, time.monotonic()


def group_exists(client: redis.Redis, stream: str, group: str) -> bool:
    try:
        return any(g["name"].decode() == group for g in client.xinfo_groups(stream))
    except redis.ResponseError:  # no stream yet
        return False
