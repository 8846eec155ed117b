"""REST API benchmark: requests/s and SQL queries per request for one learner with T templates.

    .venv/bin/python benchmarks/api.py [--templates 50] [--requests 2000] [--processes 1,2]

Runs in this process on a new temporary SQLite database (migrated, then filled): the demo host's
settings, requests made with Django's test client, which runs the whole request path (the host's
middleware, URL resolution, DRF, JWT authentication, throttling, serialisation to JSON) without a
socket or a WSGI server in between. Each request carries the learner's JWT, signed like the
LMS's with the demo host's key. Prints a table, then one JSON line with every figure: requests per
second of wall time, and per second of this process's CPU time (what one core gives when the
machine is not shared), with the machine's load average during the run. ``--processes N`` also
runs N such clients in N forked processes at once on the same database file, as N web workers
would serve it, and reports their combined requests per second of wall time.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LEARNER = "bench-learner"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--templates", type=int, default=50, help="active templates (each with a badge)")
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per configuration")
    parser.add_argument("--processes", default="1,2", help="client processes to compare, e.g. 1,2")
    args = parser.parse_args(argv)
    args.processes = [int(part) for part in args.processes.split(",") if part.strip()]
    if args.templates < 1 or args.requests < 10 or min(args.processes, default=0) < 1:
        parser.error("--templates must be >= 1, --requests >= 10 and --processes positive integers")
    return args


def configure(database: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.update({"DJANGO_SETTINGS_MODULE": "credentials_project.settings",
                       "DATABASE_URL": f"sqlite:///{database}", "LOG_LEVEL": "WARNING", "DEBUG": "false"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fill(templates: int) -> None:
    """T active Credly templates of three requirements in groups A, A, B; the learner fulfilled the
    first of each and holds an accepted badge of each."""
    from django.contrib.contenttypes.models import ContentType
    from django.contrib.sites.models import Site

    from badges.models import (
        BadgeProgress,
        BadgeRequirement,
        CredlyBadge,
        CredlyBadgeTemplate,
        CredlyOrganization,
        Fulfillment,
    )

    organization = CredlyOrganization.objects.create(uuid=uuid.uuid4(), api_key="bench", name="Bench")
    content_type = ContentType.objects.get_for_model(CredlyBadgeTemplate)
    site = Site.objects.get_current()
    for number in range(templates):
        template = CredlyBadgeTemplate.objects.create(
            site=site, organization=organization, uuid=uuid.uuid4(), name=f"Template {number:03}",
            description="Pass course A and one of two B courses.", icon="https://images.example.com/t.png",
            state=CredlyBadgeTemplate.State.ACTIVE)
        requirements = [BadgeRequirement.objects.create(template=template, event_type="e", group=group,
                                                        description=f"requirement {group}") for group in "AAB"]
        progress = BadgeProgress.objects.create(username=LEARNER, template=template)
        Fulfillment.objects.create(progress=progress, requirement=requirements[0], event_id=uuid.uuid4(),
                                   event_type="e")
        template.is_active = True
        template.save()
        CredlyBadge.objects.create(credential_content_type=content_type, credential_id=template.pk,
                                   username=LEARNER, state="accepted", external_uuid=uuid.uuid4())


def measure(client: Any, url: str, requests: int, expected_results: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(20):
        client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    assert len(response.json()["results"]) == expected_results
    query_count = len(queries)  # now: every request clears the connection's query log
    latencies = []
    load_before = os.getloadavg()[0]
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(requests):
        begin = time.perf_counter()
        response = client.get(url)
        latencies.append(time.perf_counter() - begin)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    latencies.sort()
    return {
        "requests": requests, "seconds": round(elapsed, 3), "requests_per_second": round(requests / elapsed, 1),
        "cpu_seconds": round(cpu, 3), "requests_per_cpu_second": round(requests / cpu, 1),
        "load_average": round((load_before + os.getloadavg()[0]) / 2, 2),
        "queries_per_request": query_count, "response_bytes": len(response.content),
        "p50_ms": round(statistics.median(latencies) * 1000, 3),
        "p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 3),
    }


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    from django.test import Client, override_settings

    sys.path.insert(0, str(ROOT))
    from tests.api.conftest import jwt_for

    fill(args.templates)
    client = Client(HTTP_AUTHORIZATION=f"JWT {jwt_for(LEARNER)}")
    results = []
    for throttle in ("", "100000000/minute"):
        with override_settings(BADGES_API_LEARNER_THROTTLE_RATE=throttle):
            for resource in ("progress", "badges"):
                url = f"/api/badges/v1/{resource}/?page_size={args.templates}"
                for processes in args.processes:
                    figures = (measure(client, url, args.requests, args.templates) if processes == 1
                               else measure_in_processes(url, args.requests, args.templates, processes))
                    results.append({"resource": resource, "templates": args.templates, "processes": processes,
                                    "throttled": bool(throttle), **figures})
    return results


def measure_in_processes(url: str, requests: int, expected_results: int, processes: int) -> dict[str, Any]:
    """``processes`` forked clients, each making ``requests`` requests, released together."""
    import multiprocessing

    from django.db import connections

    connections.close_all()  # each child opens its own connection
    context = multiprocessing.get_context("fork")
    start, results = context.Barrier(processes + 1), context.Queue()
    children = [context.Process(target=_client_process, args=(url, requests, expected_results, start, results))
                for _ in range(processes)]
    for child in children:
        child.start()
    start.wait(timeout=600)
    began = time.perf_counter()
    figures = [results.get(timeout=3600) for _ in children]
    elapsed = time.perf_counter() - began
    for child in children:
        child.join()
    total = requests * processes
    return {
        "requests": total, "seconds": round(elapsed, 3), "requests_per_second": round(total / elapsed, 1),
        "cpu_seconds": round(sum(f["cpu_seconds"] for f in figures), 3),
        "requests_per_cpu_second": round(total / sum(f["cpu_seconds"] for f in figures), 1),
        "load_average": round(max(f["load_average"] for f in figures), 2),
        "queries_per_request": figures[0]["queries_per_request"], "response_bytes": figures[0]["response_bytes"],
        "p50_ms": round(statistics.median(f["p50_ms"] for f in figures), 3),
        "p95_ms": round(max(f["p95_ms"] for f in figures), 3),
    }


def _client_process(url: str, requests: int, expected_results: int, start: Any, results: Any) -> None:
    from django.test import Client

    from tests.api.conftest import jwt_for

    client = Client(HTTP_AUTHORIZATION=f"JWT {jwt_for(LEARNER)}")
    client.get(url)
    start.wait(timeout=600)
    results.put(measure(client, url, requests, expected_results))


def print_table(results: list[dict[str, Any]]) -> None:
    header = ("resource", "T", "processes", "throttle", "req/s", "req/cpu-s", "p50 ms", "p95 ms", "queries", "bytes",
              "load")
    print(" ".join(f"{h:>10}" for h in header))
    for r in results:
        row = (r["resource"], r["templates"], r["processes"], "on" if r["throttled"] else "off",
               r["requests_per_second"], r["requests_per_cpu_second"], r["p50_ms"], r["p95_ms"],
               r["queries_per_request"], r["response_bytes"], r["load_average"])
        print(" ".join(f"{value!s:>10}" for value in row))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="badges-api-bench-") as directory:
        configure(Path(directory) / "bench.sqlite3")
        results = run(args)
        from django.db import connections

        connections.close_all()
    print_table(results)
    print(json.dumps({"benchmark": "api", "database": "sqlite", "client": "django.test.Client (in-process)",
                      "python": sys.version.split()[0], "results": results}))


if __name__ == "__main__":
    main()
