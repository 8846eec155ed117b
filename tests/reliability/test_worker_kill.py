"""The Celery worker is SIGKILLed 8 times while provider calls are in flight: nothing issued twice, nothing lost.

Real processes on loopback: course-passing events go through the public signal in a driver
process on PostgreSQL, the engine queues the provider tasks on Redis, one Celery worker process
(a thread pool, so SIGKILL ends every task it runs) issues them against the fake provider, which
carries out each call at once and answers it only after a delay: each kill lands while at least
one issue is in flight, after the provider may have done the work. The worker is started again
after each kill; the sweep (short grace) re-queues what the killed worker held. Each learner
earns one Credly badge and one Accredible credential (Accredible has no duplicate refusal).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time

from badges.testing.fake_provider import FakeProviderProcess
from badges.testing.processes import wait_until
from tests.reliability import support
from tests.reliability.summary import ScenarioSummary

LEARNERS = 150
KILLS = 8
ANSWER_DELAY = 0.4


def issue_in_flight(fake: FakeProviderProcess) -> bool:
    return any(call["method"] == "POST" and not call["answered"] for call in fake.control.calls())


def test_worker_killed_mid_call_issues_every_award_once(tmp_path):
    started = time.monotonic()
    broker = support.require_redis(support.BROKER_URL)
    broker.flushdb()
    support.fresh_database(support.POSTGRES_URL)
    summary = ScenarioSummary(f"worker SIGKILLed {KILLS} times mid-call (credly+accredible, postgresql)")
    with FakeProviderProcess() as fake:
        env = support.service_env(support.POSTGRES_URL, CELERY_BROKER_URL=support.BROKER_URL,
                                  BADGES_CONFIG=json.dumps(fake.badges_config()),
                                  BADGES_ISSUE_RETRY_FIRST_DELAY_SECONDS="0.5", BADGES_SWEEP_GRACE_SECONDS="8")
        support.seed(fake, env, credly_courses=support.COURSES[:1], accredible_courses=support.COURSES[:1])
        fake.control.set_chaos(latency=ANSWER_DELAY)
        logs = [tmp_path / f"worker-{number}.log" for number in range(KILLS + 1)]
        worker = support.start_worker(env, logs[0])
        sweeper = support.start_sweeper(env, tmp_path / "sweep.log", every=2)
        sender = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.driver", "send", "--learners", str(LEARNERS),
             "--course", support.COURSES[0]], cwd=support.ROOT, env=env)
        kills = 0
        try:
            for number in range(1, KILLS + 1):
                wait_until(lambda: issue_in_flight(fake), 60, "an issue in flight", interval=0.1)
                worker.kill()
                kills += 1
                worker = support.start_worker(env, logs[number])
                time.sleep(1.0)
            assert sender.wait(timeout=300) == 0, "the driver could not send every event"
            expected = LEARNERS * 2

            def all_issued() -> dict | None:
                found = support.report(env)
                return found if sum(found[origin]["learners_issued"] for origin in found) >= expected else None

            found = wait_until(all_issued, 240, "every badge issued after the kills", interval=2.0)
        finally:
            if sender.poll() is None:
                sender.kill()
            sweeper.stop()
            worker.stop()
        holdings = support.provider_holdings(fake)
    summary.events = LEARNERS
    support.summarize_issuing(summary, found, holdings, expected, started)
    summary.scenario += f" kills={kills} deliveries={support.task_deliveries(*logs)}"
    summary.report()

    assert kills == KILLS
    assert summary.awards == expected and summary.lost == 0
    assert holdings["credly"] == {"issues": LEARNERS, "duplicates": 0}
    assert holdings["accredible"] == {"issues": LEARNERS, "duplicates": 0}
    assert summary.duplicates == 0
