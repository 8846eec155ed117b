"""30% of provider calls fail after the provider did the work: every award is issued exactly once.

Real processes on loopback: this process sends course-passing events through the public signal
in a driver process on PostgreSQL (the engine queues the provider tasks on Redis), one Celery
worker issues them against the fake provider in its own process, and the periodic sweep runs
every two seconds beside them with its default grace. The fake carries out every call, then
answers 30% of them 500, 503, 429 or not at all (a timeout). Each learner earns one Credly badge
and one Accredible credential; Accredible has no duplicate refusal, so a second issue shows.

Deliveries are counted from the worker's log (every task it received: first runs, retries and
re-queues) and must stay within 1.5 per badge: the sweep must not re-queue badges whose retry
is merely waiting in the backlog.
"""
from __future__ import annotations

import json
import time

from badges.testing.fake_provider import FakeProviderProcess
from badges.testing.processes import wait_until
from tests.reliability import support
from tests.reliability.summary import ScenarioSummary

LEARNERS = 500
FAULT_RATE = 0.3
MAX_DELIVERIES_PER_BADGE = 1.5


def test_provider_faults_on_both_providers_issue_every_award_exactly_once(tmp_path):
    started = time.monotonic()
    broker = support.require_redis(support.BROKER_URL)
    broker.flushdb()
    support.fresh_database(support.POSTGRES_URL)
    summary = ScenarioSummary("provider faults 30% (credly+accredible, postgresql, celery on redis)")
    with FakeProviderProcess() as fake:
        env = support.service_env(support.POSTGRES_URL, CELERY_BROKER_URL=support.BROKER_URL,
                                  BADGES_CONFIG=json.dumps(fake.badges_config()),
                                  BADGES_ISSUE_RETRY_FIRST_DELAY_SECONDS="0.5")
        support.seed(fake, env, credly_courses=support.COURSES[:1], accredible_courses=support.COURSES[:1])
        fake.control.set_chaos(fault_rate=FAULT_RATE, timeout_delay=1.5, seed=10)
        worker_log = tmp_path / "worker.log"
        worker = support.start_worker(env, worker_log)
        sweeper = support.start_sweeper(env, tmp_path / "sweep.log", every=2)
        try:
            support.driver(env, "send", "--learners", str(LEARNERS), "--course", support.COURSES[0])
            expected = LEARNERS * 2

            def all_issued_and_idle() -> dict | None:
                found = support.report(env)
                issued = sum(found[origin]["learners_issued"] for origin in found)
                return found if issued >= expected and support.broker_idle(broker) else None

            found = wait_until(all_issued_and_idle, 300,
                                     lambda: f"every badge issued; worker log:\n{worker.log()[-3000:]}", interval=2.0)
        finally:
            sweeper.stop()
            worker.stop()
        calls = fake.control.calls()
        holdings = support.provider_holdings(fake)
    deliveries = support.task_deliveries(worker_log)
    faults = sum(call["fault"] is not None for call in calls)
    summary.events = LEARNERS
    support.summarize_issuing(summary, found, holdings, expected, started)
    summary.scenario += f" deliveries={deliveries} faults={faults}/{len(calls)}"
    summary.report()

    assert faults >= 0.2 * len(calls), "the fake provider did not inject the faults this scenario is about"
    assert summary.awards == expected and summary.lost == 0
    assert holdings["credly"] == {"issues": LEARNERS, "duplicates": 0}
    assert holdings["accredible"] == {"issues": LEARNERS, "duplicates": 0}
    assert summary.duplicates == 0
    assert deliveries <= MAX_DELIVERIES_PER_BADGE * expected, (
        f"{deliveries} task deliveries for {expected} badges: retries were doubled")

