"""Grade-release benchmark: N learners pass at once; how long until every badge is issued at a rate-limited provider.

    .venv/bin/python benchmarks/grade_release.py [--awards 10000] [--rate 50] [--window 10] [--answer-ms 100]
                                                 [--workers 2] [--concurrency 8] [--senders 2] [--no-pacing]

Real parts end to end: the fake provider as its own process over HTTP (refusing more than
``rate * window`` calls per ``window`` seconds with 429 and ``Retry-After``, answering the others
after ``--answer-ms``), Celery worker processes on Redis, PostgreSQL. Sender processes send each
learner's passing grade through ``COURSE_PASSING_STATUS_UPDATED.send_event`` (the consumer's
call), which awards the badge and queues its provider task on the broker. The service paces
the account at ``--pacing-share`` of the provider's rate (``BADGES_PROVIDER_RATE_LIMITS``);
``--no-pacing`` turns pacing off to show what it prevents. The PostgreSQL database and the Redis
database given are emptied first.
Prints a table and one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from badges.testing.fake_provider import FakeProviderProcess  # noqa: E402
from badges.testing.processes import stop_process, wait_until  # noqa: E402
from benchmarks.processing import recreate_postgres_database  # noqa: E402

DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/1"
COURSE_KEY = "course-v1:BenchX+Release+2025"
READY, GO = "READY", "GO"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--awards", type=int, default=10_000, help="learners who pass, one badge each")
    parser.add_argument("--rate", type=float, default=50.0, help="the provider's limit, calls per second")
    parser.add_argument("--window", type=float, default=10.0,
                        help="the provider counts calls per account over fixed windows this long (s)")
    parser.add_argument("--answer-ms", type=float, default=100.0, help="the provider's answer time")
    parser.add_argument("--pacing-share", type=float, default=0.95,
                        help="the service paces at this share of --rate (headroom for calls that start late)")
    parser.add_argument("--burst", type=int,
                        help="pacing burst (default: up to 5, within the window's headroom left by --pacing-share)")
    parser.add_argument("--no-pacing", action="store_true", help="BADGES_PROVIDER_RATE_LIMITS = {}: no pacing")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--concurrency", type=int, default=8, help="threads per worker process")
    parser.add_argument("--senders", type=int, default=4, help="processes sending the grade events")
    parser.add_argument("--queue-first", action="store_true",
                        help="award everything before the workers start; time the release from their start")
    parser.add_argument("--timeout", type=float, help="give up after this many seconds (default 3x the ideal)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL,
                        help="a database the benchmark drops and recreates")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL,
                        help="the Celery broker and pacing Redis database; the benchmark empties it")
    parser.add_argument("--keep-logs", action="store_true", help="print where the worker logs are kept")
    parser.add_argument("--role", choices=["prepare", "send", "watch"], help=argparse.SUPPRESS)
    parser.add_argument("--shard", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--started", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--fake-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.awards < 1 or args.rate <= 0 or min(args.workers, args.concurrency, args.senders) < 1:
        parser.error("--awards, --rate, --workers, --concurrency and --senders must be positive")
    args.ideal_s = args.awards / args.rate
    if args.burst is None:  # a burst plus a window of paced calls must still fit the provider's window
        args.burst = max(1, min(5, int((1 - args.pacing_share) * args.rate * args.window)))
    args.timeout = args.timeout or max(120.0, 3 * args.ideal_s)
    return args


# --- Orchestrator: no Django here ---------------------------------------------------------------

def environment(args: argparse.Namespace, fake: FakeProviderProcess) -> dict[str, str]:
    env = dict(os.environ)
    pacing = {} if args.no_pacing else {
        "credly": {"per_second": args.rate * args.pacing_share, "burst": args.burst}}
    env.update({
        "DJANGO_SETTINGS_MODULE": "credentials_project.settings",
        "DATABASE_URL": args.postgres_url,
        "CELERY_BROKER_URL": args.redis_url,
        "DEBUG": "0",
        "BADGES_ENABLED": "1",
        "LOG_LEVEL": "WARNING",
        "BADGES_CONFIG": json.dumps(fake.badges_config()),
        "BADGES_PROVIDER_RATE_LIMITS": json.dumps(pacing),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    })
    return env


def child(args: argparse.Namespace, role: str, **options: Any) -> list[str]:
    command = [sys.executable, str(Path(__file__).resolve()), "--role", role, "--awards", str(args.awards),
               "--senders", str(args.senders), "--timeout", str(args.timeout)]
    for name, value in options.items():
        command += [f"--{name}", str(value)]
    return command + (["--queue-first"] if args.queue_first else [])


def last_json(output: str) -> dict[str, Any]:
    return json.loads(output.strip().splitlines()[-1])


def start_workers(args: argparse.Namespace, env: dict[str, str], log_dir: Path) -> list[subprocess.Popen]:
    workers = []
    for number in range(args.workers):
        log = (log_dir / f"worker-{number}.log").open("wb")
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "credentials_project", "worker", "--pool", "threads",
             "--concurrency", str(args.concurrency), "-n", f"grade-release-{number}@%h", "--without-heartbeat",
             "--without-mingle", "--without-gossip", "--loglevel", "WARNING"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    return workers


def wait_for_workers(redis_url: str, count: int) -> None:
    """Until every worker answers a ping on the broker."""
    from celery import Celery

    app = Celery(broker=redis_url)
    wait_until(lambda: len(app.control.ping(timeout=1.0) or []) >= count, 90, "the Celery workers to start")


def provider_figures(fake: FakeProviderProcess, awards: int) -> dict[str, Any]:
    calls = fake.control.calls()
    badges = fake.control.credly_badges()
    per_learner = Counter(badge["recipient_email"].lower() for badge in badges if badge["state"] != "revoked")
    statuses = Counter(call["status"] for call in calls)
    return {
        "provider_calls": len(calls),
        "issue_calls": sum(1 for call in calls if call["method"] == "POST"),
        "lookup_calls": sum(1 for call in calls if call["method"] == "GET"),
        "rate_limited_429": statuses.get(429, 0),
        "other_errors": sum(n for status, n in statuses.items() if status not in (200, 201, 429)),
        "issued_at_provider": len(per_learner),
        "duplicates": sum(n - 1 for n in per_learner.values()),
        "lost": awards - len(per_learner),
    }


def orchestrate(args: argparse.Namespace) -> dict[str, Any]:
    import tempfile

    import redis

    recreate_postgres_database(args.postgres_url)
    redis.Redis.from_url(args.redis_url).flushdb()
    log_dir = Path(tempfile.mkdtemp(prefix="badges-grade-release-"))
    with FakeProviderProcess() as fake:
        env = environment(args, fake)
        subprocess.run(child(args, "prepare", **{"fake-url": fake.url}), cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        fake.control.set_rate_limit(max(1, round(args.rate * args.window)), window=args.window)
        fake.control.set_answer_time(args.answer_ms / 1000)
        workers: list[subprocess.Popen] = []
        try:
            result = release(args, env, lambda: workers.extend(start_workers(args, env, log_dir)))
        finally:
            for worker in workers:
                stop_process(worker, timeout=30)
        result.update(provider_figures(fake, args.awards))
    if args.keep_logs:
        print(f"worker logs: {log_dir}", file=sys.stderr)
    return {
        "pacing": "off" if args.no_pacing else f"{args.rate * args.pacing_share:g}/s burst {args.burst}",
        "awards": args.awards, "provider_rate": args.rate, "window_s": args.window, "answer_ms": args.answer_ms,
        "workers": args.workers, "concurrency": args.concurrency, "ideal_s": round(args.ideal_s, 1),
        **result,
        "vs_ideal": round(result["issued_s"] / args.ideal_s, 3) if result["issued_s"] else None,
        "share_429": round(result["rate_limited_429"] / max(1, result["provider_calls"]), 4),
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }


def release(args: argparse.Namespace, env: dict[str, str], start_workers: Callable[[], None]) -> dict[str, Any]:
    """Send the events and run the workers; the watcher reports when the last badge was issued.

    By default the workers are up before the senders start, and the clock starts with the
    senders. With ``--queue-first`` every award is made (its task queued) before the workers
    start, and the clock starts with them: the release itself, apart from event processing.
    """
    senders = [subprocess.Popen(child(args, "send", shard=shard), cwd=ROOT, env=env, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE) for shard in range(args.senders)]

    def go() -> list[dict[str, Any]]:
        for sender in senders:
            sender.stdin.write(GO + "\n")
            sender.stdin.flush()
        return [last_json(sender.communicate()[0]) for sender in senders]

    watcher = None
    try:
        for sender in senders:
            if sender.stdout.readline().strip() != READY:
                raise SystemExit("a sender failed to start")
        if args.queue_first:
            sent = go()
        else:
            start_workers()
            wait_for_workers(args.redis_url, args.workers)
        started = time.time()
        watcher = subprocess.Popen(child(args, "watch", started=started), cwd=ROOT, env=env, text=True,
                                   stdout=subprocess.PIPE)
        if args.queue_first:
            start_workers()
        else:
            sent = go()
        watched = last_json(watcher.communicate()[0])
    finally:
        for process in [*senders, watcher]:
            if process is not None and process.poll() is None:  # only after a failure or an interrupt
                process.kill()
                process.wait()
    return {"sent_s": None if args.queue_first else round(max(s["finished"] for s in sent) - started, 1),
            "events": sum(s["events"] for s in sent), "receiver_errors": sum(s["errors"] for s in sent),
            **watched}


COLUMNS = [
    ("pacing", "pacing", "{}"), ("awards", "awards", "{}"), ("rate/s", "provider_rate", "{:g}"),
    ("ideal s", "ideal_s", "{}"), ("issued s", "issued_s", "{}"), ("x ideal", "vs_ideal", "{}"),
    ("sent s", "sent_s", "{}"), ("calls", "provider_calls", "{}"), ("429s", "rate_limited_429", "{}"),
    ("429 %", "share_429", "{:.2%}"), ("issued", "issued_at_provider", "{}"), ("dupl.", "duplicates", "{}"),
    ("lost", "lost", "{}"), ("load avg", "load_average", "{}"),
]


def format_table(result: dict[str, Any]) -> str:
    rows = [[title for title, _key, _fmt in COLUMNS],
            ["-" if result.get(key) is None else fmt.format(result[key]) for _title, key, fmt in COLUMNS]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [" | ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


# --- Children: Django configured from the environment ------------------------------------------

def prepare(args: argparse.Namespace) -> dict[str, Any]:
    """Migrate; one active Credly template earned by passing COURSE_KEY; the same account at the fake."""
    from django.contrib.sites.models import Site
    from django.core.management import call_command

    from badges.models import BadgeRequirement, CredlyBadgeTemplate, DataRule, RulebookVersion
    from badges.testing.fake_provider import FakeProviderControl
    from benchmarks.workload import EVENT_TYPE, ORGANIZATION_UUID, benchmark_organization

    call_command("migrate", interactive=False, verbosity=0)
    organization = benchmark_organization()
    template = CredlyBadgeTemplate.objects.create(
        site=Site.objects.get_current(), organization=organization, uuid=uuid.uuid5(ORGANIZATION_UUID, "release"),
        name="Grade release badge", state=CredlyBadgeTemplate.State.ACTIVE, is_active=True)
    requirement = BadgeRequirement.objects.create(template=template, event_type=EVENT_TYPE)
    DataRule.objects.create(requirement=requirement, data_path="course.course_key", operator="eq", value=COURSE_KEY)
    RulebookVersion.bump()
    control = FakeProviderControl(args.fake_url)
    control.add_credly_organization(api_key=organization.effective_api_key, name=organization.name,
                                    organization_id=str(organization.uuid))
    control.add_credly_template(str(organization.uuid), name=template.name, template_id=str(template.uuid),
                                allow_duplicates=True)  # so a second issue shows as a duplicate, not a refusal
    return {"prepared": True}


def send(args: argparse.Namespace) -> dict[str, Any]:
    """The passing grade of each of this shard's learners: it awards the badge and queues its provider task."""
    from benchmarks.workload import BenchEvent, send_event

    payloads = [BenchEvent(learner, COURSE_KEY, True, True).payload()
                for learner in range(args.shard, args.awards, args.senders)]
    print(READY, flush=True)
    if sys.stdin.readline().strip() != GO:
        raise SystemExit("sender: no start signal")
    errors = sum(send_event(payload) for payload in payloads)
    return {"events": len(payloads), "errors": errors, "finished": time.time()}


def watch(args: argparse.Namespace) -> dict[str, Any]:
    """Poll until every award holds its provider id, or the timeout; seconds since the release started."""
    from badges.models import CredlyBadge

    issued = 0
    while time.time() - args.started < args.timeout:
        issued = CredlyBadge.objects.exclude(external_uuid=None).count()
        if issued >= args.awards:
            return {"issued_s": round(time.time() - args.started, 1), "issued_in_db": issued,
                    "awarded_in_db": CredlyBadge.objects.count()}
        time.sleep(0.5)
    return {"issued_s": None, "issued_in_db": issued, "awarded_in_db": CredlyBadge.objects.count()}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.role is None:
        result = orchestrate(args)
        print(format_table(result))
        print(json.dumps(result), flush=True)
        return
    import django

    django.setup()
    result = {"prepare": prepare, "send": send, "watch": watch}[args.role](args)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
