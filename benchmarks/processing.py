"""Processing benchmark: events/s, SQL queries and latency per grade event, for T templates.

    .venv/bin/python benchmarks/processing.py [--db sqlite,postgres] [--templates 10,100,1000]
                                              [--events 2000] [--processes 1,2,4]

Every configuration (database, T, processes) runs in fresh processes on a flushed database, so no
cache survives from one to the next. SQLite uses a new temporary file; PostgreSQL a dedicated
database ``bench`` (dropped and created at the start, migrated, flushed per configuration).
``--processes N`` splits the events by learner across N consumer processes started together
(PostgreSQL only: SQLite has one writer).
Prints one JSON line per configuration as it finishes, then a table.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/bench"
READY, GO = "READY", "GO"


def int_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgres",
                        help="comma-separated: sqlite, postgres (default: both)")
    parser.add_argument("--templates", type=int_list, default=[10, 100, 1000], help="active templates, e.g. 10,100")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--workload", choices=["single", "steady", "churn"], default="single",
                        help="single: one pass of the processing stream; steady: each learner follows one "
                             "template and the stream is played twice (repeat learners, awards at every T); "
                             "churn: single, while another process saves a data rule --saves-per-s times a second")
    parser.add_argument("--saves-per-s", type=float, default=10.0, help="configuration saves per second (churn)")
    parser.add_argument("--processes", type=int_list, default=[1, 2, 4],
                        help="consumer processes to compare on PostgreSQL (SQLite always runs 1)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL,
                        help="a database the benchmark drops and recreates")
    parser.add_argument("--log-level", default="WARNING", help="LOG_LEVEL of the measured processes")
    parser.add_argument("--show-sql", action="store_true",
                        help="print the SQL of the first non-matching and matching event and of the costliest one")
    parser.add_argument("--batch-size", type=int, default=100,
                        help="events that share one configuration check, as a bus consumer's batch does "
                             "(BADGES_CONSUMER_BATCH_SIZE, default 100); 1: every event checks")
    parser.add_argument("--profile", action="store_true", help="cProfile the single-process runs (stderr)")
    parser.add_argument("--profile-sort", default="cumulative", help="pstats sort key of --profile (e.g. tottime)")
    parser.add_argument("--role", choices=["prepare", "config", "worker", "churn"], help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--shard", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.db = [name.strip() for name in args.db.split(",") if name.strip()]
    unknown = set(args.db) - {"sqlite", "postgres"}
    if unknown:
        parser.error(f"--db: unknown database(s) {sorted(unknown)}; use sqlite and/or postgres")
    if args.events < 2 or min(args.templates, default=0) < 1 or min(args.processes, default=0) < 1:
        parser.error("--events must be at least 2; --templates and --processes positive integers")
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    return args


# --- Orchestrator: no Django here; every measurement runs in a child process ---------------------

def child_environment(database_url: str, log_level: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CELERY_BROKER_URL", None)  # Celery eager: issuing runs in-process, inside the measurement
    env.update({
        "DJANGO_SETTINGS_MODULE": "credentials_project.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "BADGES_ENABLED": "1",
        "LOG_LEVEL": log_level,
        # The provider is answered in-process (responses): pacing its calls to the published rate
        # (grade_release.py measures that) would time the pacing, not the service.
        "BADGES_PROVIDER_RATE_LIMITS": "{}",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    })
    return env


def child_command(args: argparse.Namespace, role: str, **options: Any) -> list[str]:
    command = [sys.executable, str(Path(__file__).resolve()), "--role", role, "--database-url", args.database_url,
               "--events", str(args.events), "--log-level", args.log_level, "--workload", args.workload,
               "--saves-per-s", str(args.saves_per_s), "--batch-size", str(args.batch_size)]
    for name, value in options.items():
        command += [f"--{name}", str(value)]
    if args.show_sql:
        command.append("--show-sql")
    if args.profile:
        command += ["--profile", "--profile-sort", args.profile_sort]
    return command


def run_child(args: argparse.Namespace, role: str, **options: Any) -> dict[str, Any]:
    """Run one child to completion; its last stdout line is its JSON result."""
    completed = subprocess.run(child_command(args, role, **options), cwd=ROOT, text=True, stdout=subprocess.PIPE,
                               env=child_environment(args.database_url, args.log_level), check=False)
    if completed.returncode != 0:
        raise SystemExit(f"benchmark child {role} {options} failed with exit code {completed.returncode}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def recreate_postgres_database(url: str) -> None:
    """Drop and create the benchmark's own database, so migrations always match the code."""
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1]
    server = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def orchestrate(args: argparse.Namespace) -> None:
    results = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="badges-bench-") as tmp:
        for db in args.db:
            if db == "postgres":
                args.database_url = args.postgres_url
                recreate_postgres_database(args.database_url)
            else:
                args.database_url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            run_child(args, "prepare")
            for templates in args.templates:
                for processes in args.processes if db == "postgres" else [1]:
                    result = run_child(args, "config", templates=templates, processes=processes)
                    print(json.dumps(result), flush=True)
                    results.append(result)
    print()
    print(format_table(results))
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


COLUMNS = [
    ("db", "db", "{}"), ("T", "templates", "{}"), ("procs", "processes", "{}"), ("batch", "batch_size", "{}"),
    ("events/s", "events_per_s", "{:.0f}"), ("ev/cpu-s", "events_per_cpu_s", "{:.0f}"),
    ("q/event", "queries_per_event", "{:.2f}"), ("q match", "queries_matching", "{:.2f}"),
    ("q match max", "queries_matching_max", "{}"), ("q non-match", "queries_non_matching", "{:.2f}"),
    ("q non-match max", "queries_non_matching_max", "{}"), ("p50 ms", "latency_p50_ms", "{:.2f}"),
    ("p95 ms", "latency_p95_ms", "{:.2f}"), ("awarded", "badges_awarded", "{}"), ("revoked", "badges_revoked", "{}"),
    ("issued", "badges_issued", "{}"), ("provider calls", "provider_calls", "{}"), ("errors", "receiver_errors", "{}"),
    ("non-match ms", "latency_non_matching_mean_ms", "{:.2f}"), ("match ms pass1", "matching_ms_pass1", "{:.2f}"),
    ("pass2", "matching_ms_pass2", "{:.2f}"), ("load", "load_average", "{:.1f}"),
]


def format_table(results: list[dict[str, Any]], columns: list[tuple[str, str, str]] = COLUMNS) -> str:
    """A right-aligned text table of ``results``: one row each, ``columns`` as (title, key, format)."""
    rows = [[title for title, _key, _fmt in columns]]
    for result in results:
        rows.append(["-" if result.get(key) is None else fmt.format(result[key]) for _title, key, fmt in columns])
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = [" | ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


# --- Children: Django configured from the environment the orchestrator set ----------------------

def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare(args: argparse.Namespace) -> dict[str, Any]:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    return {"prepared": args.database_url.split("://")[0]}


def workload_events(args: argparse.Namespace) -> list:
    from benchmarks.workload import generate_events, generate_steady_events, requirement_course_keys

    if args.workload == "steady":
        stream = generate_steady_events(args.templates, args.events)
        return stream + stream
    keys = [key for index in range(args.templates) for key in requirement_course_keys(index)]
    return generate_events(keys, args.events)


def warm_up():
    """One non-matching event first: it loads the per-process caches, whose cost is reported apart."""
    from benchmarks.workload import measure_one, warmup_event

    return measure_one(warmup_event())


def measured_run(args: argparse.Namespace, events: list, warmup) -> dict[str, Any]:
    """Process ``events`` in order and return the per-event costs."""
    from benchmarks.workload import process_events

    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        measurement = profiler.runcall(process_events, events, args.batch_size)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats(args.profile_sort).print_stats(40)
    else:
        measurement = process_events(events, args.batch_size)
    if args.show_sql:
        for name, statements in measurement.examples.items():
            print(f"--- {name} event: {len(statements)} queries", file=sys.stderr)
            for statement in statements:
                print(f"    {statement}", file=sys.stderr)
    return {
        "started": measurement.started,
        "finished": measurement.finished,
        "cpu_seconds": measurement.cpu_seconds,
        "provider_calls": measurement.provider_calls.total,
        "unexpected_provider_calls": measurement.provider_calls.other[:5],
        "costs": [[c.matching, c.queries, c.seconds, c.receiver_errors, c.provider_calls] for c in measurement.costs],
        "warmup_queries": warmup.cost.queries,
        "warmup_ms": round(warmup.cost.seconds * 1000, 2),
    }


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """One of N consumer processes: its share of the learners, started on the orchestrator's signal."""
    events = [event for event in workload_events(args) if event.learner % args.processes == args.shard]
    warmup = warm_up()
    print(READY, flush=True)
    if sys.stdin.readline().strip() != GO:
        raise SystemExit("worker: no start signal")
    return measured_run(args, events, warmup)


def run_workers(args: argparse.Namespace) -> list[dict[str, Any]]:
    env = child_environment(args.database_url, args.log_level)
    children = [
        subprocess.Popen(child_command(args, "worker", templates=args.templates, processes=args.processes, shard=shard),
                         cwd=ROOT, env=env, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for shard in range(args.processes)
    ]
    try:
        for child in children:
            if child.stdout.readline().strip() != READY:
                raise SystemExit("a worker failed to start")
        for child in children:
            child.stdin.write(GO + "\n")
            child.stdin.flush()
        outputs = [child.communicate()[0] for child in children]
    finally:
        for child in children:
            if child.poll() is None:  # only after a failure: stop the workers this run started
                child.kill()
                child.wait()
    if any(child.returncode for child in children):
        raise SystemExit("a worker failed")
    return [json.loads(output.strip().splitlines()[-1]) for output in outputs]


def churn(args: argparse.Namespace) -> dict[str, Any]:
    """Save one data rule after another (as the admin does), ``--saves-per-s`` a second, until stdin closes.

    Each save gives the configuration a new token, so every consumer process reloads its rulebook.
    """
    import threading

    from badges.models import DataRule

    rules = list(DataRule.objects.order_by("pk"))
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    print(READY, flush=True)
    saves, interval = 0, 1 / args.saves_per_s
    started = time.perf_counter()
    while not stop.wait(max(0.0, started + (saves + 1) * interval - time.perf_counter())):
        rules[saves % len(rules)].save()
        saves += 1
    return {"saves": saves, "seconds": round(time.perf_counter() - started, 3)}


def start_churn(args: argparse.Namespace) -> subprocess.Popen:
    child = subprocess.Popen(child_command(args, "churn", templates=args.templates, processes=1), cwd=ROOT,
                             env=child_environment(args.database_url, args.log_level), text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    if child.stdout.readline().strip() != READY:
        raise SystemExit("the churn process failed to start")
    return child


def stop_churn(child: subprocess.Popen) -> dict[str, Any]:
    output = child.communicate("")[0]
    if child.returncode:
        raise SystemExit("the churn process failed")
    return json.loads(output.strip().splitlines()[-1])


def configuration(args: argparse.Namespace) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection

    from badges.models import BadgeProgress, CredlyBadge, Fulfillment
    from benchmarks.workload import EventCost, build_rulebook, summarize
    from credentials_project.core.models import User

    call_command("flush", interactive=False, verbosity=0)
    begin = time.perf_counter()
    build_rulebook(args.templates)
    setup_seconds = time.perf_counter() - begin
    events = workload_events(args)
    churning = start_churn(args) if args.workload == "churn" else None
    if args.processes == 1:
        runs = [measured_run(args, events, warm_up())]
    else:
        connection.close()
        runs = run_workers(args)
    churned = stop_churn(churning) if churning else {}
    costs = [cost for run in runs for cost in run["costs"]]
    wall = max(run["finished"] for run in runs) - min(run["started"] for run in runs)
    summary = summarize(
        [EventCost(*cost) for cost in costs], wall, sum(run["provider_calls"] for run in runs),
        sum(run["cpu_seconds"] for run in runs),
    )
    badges = CredlyBadge.objects.all()
    passes = {}
    if args.workload == "steady" and args.processes == 1:  # in order: the first half is the first pass
        half = len(costs) // 2
        for name, part in (("pass1", costs[:half]), ("pass2", costs[half:])):
            passes[f"matching_ms_{name}"] = round(statistics.fmean(c[2] * 1000 for c in part if c[0]), 3)
    return {
        "db": connection.vendor.replace("postgresql", "postgres"),
        "workload": args.workload,
        "templates": args.templates,
        "processes": args.processes,
        "batch_size": args.batch_size,
        **summary,
        "badges_awarded": badges.filter(status=CredlyBadge.Status.AWARDED).count(),
        "badges_revoked": badges.filter(status=CredlyBadge.Status.REVOKED).count(),
        "badges_issued": badges.exclude(external_uuid=None).count(),
        "progress_rows": BadgeProgress.objects.count(),
        "fulfillments": Fulfillment.objects.count(),
        "users_created": User.objects.filter(username__startswith="bench-learner-").count(),
        "unexpected_provider_calls": sorted({call for run in runs for call in run["unexpected_provider_calls"]}),
        "warmup_queries": max(run["warmup_queries"] for run in runs),
        "warmup_ms": max(run["warmup_ms"] for run in runs),
        "setup_s": round(setup_seconds, 2),
        **passes,
        "load_average": round(os.getloadavg()[0], 2),
        **{f"churn_{name}": value for name, value in churned.items()},
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.role is None:
        orchestrate(args)
        return
    args.templates, args.processes = args.templates[0], args.processes[0]
    setup_django()
    if args.role == "prepare":
        result = prepare(args)
    elif args.role == "worker":
        result = worker(args)
    elif args.role == "churn":
        result = churn(args)
    else:
        result = configuration(args)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
