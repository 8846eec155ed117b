"""Bus drain benchmark: how fast ``manage.py consume_events`` replays a backlog on Redis Streams and Kafka.

    .venv/bin/python benchmarks/bus_drain.py [--bus redis,kafka] [--db sqlite,postgres] [--consumers 1,2]
                                             [--events 20000] [--templates 100] [--profile]

Per configuration (bus, database, consumers): the database is flushed and gets T templates (the
processing workload, ``benchmarks/workload.py``); a producer process publishes the whole backlog
(20% matching events) with the bus library's producer to a fresh topic; then N ``consume_events``
processes start together in one consumer group and drain it. Each consumer process is the real
management command, run by ``--role consumer`` of this script so that Credly's API is answered
in-process (as in ``processing.py``) and the process can time what it handled.

``events/s`` = course-passing events handled by all consumers / (last handled - first handled),
so process start-up and the Kafka group join are left out. The run ends when the broker shows the
group drained (Redis: nothing pending and no lag; Kafka: committed offsets at the end of both
partitions), then the consumers are stopped with SIGINT.
Prints one JSON line per configuration as it finishes, then a table.
"""
from __future__ import annotations

import argparse
import faulthandler
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.processing import format_table, recreate_postgres_database  # noqa: E402

DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/bench_bus"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/3"
TOPIC = "learning-badges-lifecycle"
GROUP = "badges-bench"
KAFKA_PARTITIONS = 2
READY, GO = "READY", "GO"
CONSUMING_ERROR = "Error consuming event from"  # both libraries' line for a message they gave up on
KAFKA_CONSUMER = "badges.testing.kafka_consumer.ShortSessionKafkaEventConsumer"


def int_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def name_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bus", type=name_list, default=["redis", "kafka"], help="redis, kafka (default: both)")
    parser.add_argument("--db", type=name_list, default=["sqlite", "postgres"], help="sqlite, postgres (default: both)")
    parser.add_argument("--consumers", type=int_list, default=[1, 2], help="consumer processes, e.g. 1,2")
    parser.add_argument("--events", type=int, default=20_000, help="backlog size")
    parser.add_argument("--templates", type=int, default=100, help="active templates (T)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL,
                        help="a database the benchmark drops and recreates")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="Redis for the bus (streams are deleted after)")
    parser.add_argument("--log-level", default="INFO", help="LOG_LEVEL of the consumers (production default INFO)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds a drain may take before the run fails")
    parser.add_argument("--profile", action="store_true",
                        help="run one consumer per bus and database under cProfile and print its top entries")
    parser.add_argument("--role", choices=["prepare", "produce", "consumer"], help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for option, allowed in (("bus", {"redis", "kafka"}), ("db", {"sqlite", "postgres"})):
        unknown = set(getattr(args, option)) - allowed
        if unknown:
            parser.error(f"--{option}: unknown {sorted(unknown)}; use {', '.join(sorted(allowed))}")
    if args.profile:
        args.consumers = [1]
    return args


# --- Orchestrator: no Django here --------------------------------------------------------------

def child_environment(args: argparse.Namespace, database_url: str, bus: str, prefix: str,
                      kafka: dict[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("EVENT_BUS_", "CELERY_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "credentials_project.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "BADGES_ENABLED": "1",
        "LOG_LEVEL": args.log_level,
        # The provider is answered in-process (responses): pacing its calls to the published rate
        # (grade_release.py measures that) would time the pacing, not the service.
        "BADGES_PROVIDER_RATE_LIMITS": "{}",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        "EVENT_BUS_BACKEND": bus,
        "EVENT_BUS_TOPIC_PREFIX": prefix,
        "EVENT_BUS_REDIS_CONNECTION_URL": args.redis_url,
    })
    if bus == "kafka":
        env.update({"EVENT_BUS_CONSUMER": KAFKA_CONSUMER, **kafka})
    return env


def script_command(role: str, args: argparse.Namespace, *extra: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--role", role, "--events", str(args.events),
            "--templates", str(args.templates), *extra]


def run_child(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    completed = subprocess.run(command, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"benchmark child {command[3]} failed with exit code {completed.returncode}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def full_topic(prefix: str) -> str:
    return f"{prefix}-{TOPIC}"


def prepare_kafka_topic(bootstrap: str, topic: str, group: str) -> None:
    """Create the topic with two partitions and commit offset 0 on both for the group."""
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=KAFKA_PARTITIONS, replication_factor=1)])[topic].result(20)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        consumer.commit(offsets=[TopicPartition(topic, p, 0) for p in range(KAFKA_PARTITIONS)], asynchronous=False)
    finally:
        consumer.close()


def drained(bus: str, topic: str, group: str, args: argparse.Namespace, kafka: dict[str, str]) -> bool:
    """Whether the group has acknowledged / committed everything on the topic."""
    if bus == "redis":
        import redis

        client = redis.Redis.from_url(args.redis_url)
        try:
            groups = [g for g in client.xinfo_groups(topic) if g["name"].decode() == group]
        except redis.ResponseError:
            return False
        finally:
            client.close()
        return bool(groups) and groups[0]["pending"] == 0 and groups[0]["lag"] == 0
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": kafka["EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS"], "group.id": group,
                         "enable.auto.commit": False})
    try:
        committed = consumer.committed([TopicPartition(topic, p) for p in range(KAFKA_PARTITIONS)], timeout=10)
        for partition in committed:
            _low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition.partition), timeout=10)
            if partition.offset < high:
                return False
        return True
    finally:
        consumer.close()


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def run_configuration(args: argparse.Namespace, bus: str, db: str, database_url: str, consumers: int,
                      kafka: dict[str, str], log_dir: Path) -> dict[str, Any]:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    topic = full_topic(prefix)
    # One group per configuration: the broker keeps a group's members and offsets from earlier runs.
    group = f"{GROUP}-{prefix}"
    env = child_environment(args, database_url, bus, prefix, kafka)
    quiet = {**env, "LOG_LEVEL": "WARNING"}  # the producer's line per message is not part of the figures
    run_child(script_command("prepare", args), quiet)
    if bus == "kafka":
        prepare_kafka_topic(kafka["EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS"], topic, group)
    produced = run_child(script_command("produce", args), quiet)
    load_before = load_average()
    children, logs = [], []
    for number in range(consumers):
        extra = ["--consumers", "1"]
        if args.profile:
            extra += ["--profile-out", str(log_dir / f"profile-{bus}-{db}.txt")]
        extra += ["--", "-t", TOPIC, "-g", group]
        if bus == "redis":
            extra += ["--extra", json.dumps({"consumer_name": f"bench-{number}", "check_backlog": True})]
        log_path = log_dir / f"consumer-{bus}-{db}-{consumers}-{number}.log"
        logs.append(log_path)
        with log_path.open("wb") as log:
            children.append(subprocess.Popen(script_command("consumer", args, *extra), cwd=ROOT, env=env, text=True,
                                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log))
    try:
        for child in children:
            if child.stdout.readline().strip() != READY:
                raise SystemExit(f"a consumer failed to start; see {log_dir}")
        for child in children:
            child.stdin.write(GO + "\n")
            child.stdin.flush()
        deadline = time.monotonic() + args.timeout
        while not drained(bus, topic, group, args, kafka):
            if time.monotonic() > deadline or any(child.poll() is not None for child in children):
                tails = "\n".join(f"--- {path.name}:\n{path.read_text(errors='replace')[-3000:]}" for path in logs)
                raise SystemExit(f"the backlog was not drained:\n{tails}")
            time.sleep(0.5)
        load_during = load_average()
        for child in children:
            child.send_signal(signal.SIGINT)
        outputs = [stopped_output(child, log) for child, log in zip(children, logs, strict=True)]
    finally:
        for child in children:
            if child.poll() is None:  # only after a failure: stop the consumers this run started
                child.kill()
                child.wait()
    runs = [json.loads(output.strip().splitlines()[-1]) for output in outputs]
    if bus == "redis":
        import redis

        redis.Redis.from_url(args.redis_url).delete(topic)
    handled = sum(run["handled"] for run in runs)
    span = max(run["last"] for run in runs) - min(run["first"] for run in runs)
    log_texts = [path.read_text(errors="replace") for path in logs]
    log_lines = sum(len(text.splitlines()) for text in log_texts)
    return {
        "bus": bus, "db": db, "consumers": consumers, "templates": args.templates, "backlog": produced["produced"],
        "handled": handled, "consuming_errors": sum(text.count(CONSUMING_ERROR) for text in log_texts),
        "span_s": round(span, 3), "events_per_s": round(handled / span, 1) if span > 0 else None,
        "events_per_s_per_consumer": round(handled / span / consumers, 1) if span > 0 else None,
        "cpu_ms_per_event": round(sum(run["cpu_s"] for run in runs) * 1000 / handled, 3) if handled else None,
        "log_lines_per_event": round(log_lines / handled, 3) if handled else None,
        "per_consumer": [run["handled"] for run in runs],
        "load_before": load_before, "load_during": load_during, "profiled": args.profile,
    }


def orchestrate(args: argparse.Namespace) -> None:
    from badges.testing.brokers import kafka_servers

    results = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="badges-bus-drain-") as tmp:
        log_dir = Path(tmp)
        servers = kafka_servers(log_dir) if "kafka" in args.bus else None
        try:
            kafka = {}
            if servers is not None:
                broker, registry = servers.__enter__()
                kafka = {"EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS": broker.address,
                         "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL": f"http://{registry.address}"}
            for db in args.db:
                if db == "postgres":
                    database_url = args.postgres_url
                    recreate_postgres_database(database_url)
                else:
                    database_url = f"sqlite:///{log_dir / 'bench.sqlite3'}"
                migrate_env = child_environment(args, database_url, "", "", {})
                subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT,
                               env=migrate_env, check=True)
                for bus in args.bus:
                    for consumers in args.consumers:
                        result = run_configuration(args, bus, db, database_url, consumers, kafka, log_dir)
                        print(json.dumps(result), flush=True)
                        results.append(result)
                        if args.profile:
                            print((log_dir / f"profile-{bus}-{db}.txt").read_text(), flush=True)
        finally:
            if servers is not None:
                servers.__exit__(None, None, None)
    print()
    print(format_table(results, COLUMNS))
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


COLUMNS = [
    ("bus", "bus", "{}"), ("db", "db", "{}"), ("consumers", "consumers", "{}"), ("backlog", "backlog", "{}"),
    ("handled", "handled", "{}"), ("span s", "span_s", "{:.1f}"), ("events/s", "events_per_s", "{:.0f}"),
    ("ev/s per consumer", "events_per_s_per_consumer", "{:.0f}"), ("cpu ms/event", "cpu_ms_per_event", "{:.3f}"),
    ("log lines/event", "log_lines_per_event", "{:.3f}"), ("errors", "consuming_errors", "{}"),
    ("load during", "load_during", "{}"),
]


# --- Children: Django configured from the environment the orchestrator set ----------------------

def setup_django() -> None:
    import django

    django.setup()


def prepare(args: argparse.Namespace) -> dict[str, Any]:
    """A flushed database with the processing workload's T templates."""
    from django.core.management import call_command

    from benchmarks.workload import build_rulebook

    call_command("flush", interactive=False, verbosity=0)
    build_rulebook(args.templates)
    return {"templates": args.templates}


def keep_whole_backlog(args: argparse.Namespace) -> None:
    """Redis producers trim the stream to ``EVENT_BUS_REDIS_STREAM_MAX_LEN`` (10,000) at every add, the
    consumers' own badge events included, which would drop the unread part of a larger backlog. The
    host reads no such setting from the environment, so the benchmark raises the library's value."""
    from django.conf import settings

    if settings.EVENT_BUS_BACKEND == "redis":
        from edx_event_bus_redis.internal import producer as redis_producer

        redis_producer.STREAM_MAX_LEN = max(redis_producer.STREAM_MAX_LEN, 2 * args.events)


def produce(args: argparse.Namespace) -> dict[str, Any]:
    """Publish the backlog with the configured bus library's producer, as the LMS does."""
    import datetime

    from openedx_events.data import EventsMetadata
    from openedx_events.event_bus import get_producer
    from openedx_events.learning.signals import COURSE_PASSING_STATUS_UPDATED

    from benchmarks.workload import generate_events, requirement_course_keys

    keep_whole_backlog(args)
    keys = [key for index in range(args.templates) for key in requirement_course_keys(index)]
    producer = get_producer()
    for event in generate_events(keys, args.events):
        metadata = EventsMetadata(event_type=COURSE_PASSING_STATUS_UPDATED.event_type, minorversion=0,
                                  time=datetime.datetime.now(datetime.UTC))
        producer.send(signal=COURSE_PASSING_STATUS_UPDATED, topic=TOPIC,
                      event_key_field="course_passing_status.course.course_key",
                      event_data={"course_passing_status": event.payload()}, event_metadata=metadata)
    if hasattr(producer, "prepare_for_shutdown"):
        producer.prepare_for_shutdown()
    return {"produced": args.events}


class HandledEvents:
    """Counts the course-passing events this process handled and when the first and last finished.

    Connected after the service's receivers, so it runs once they are done with the event."""

    def __init__(self) -> None:
        self.handled = 0
        self.first: float | None = None
        self.last: float | None = None

    def __call__(self, **kwargs: Any) -> None:
        now = time.time()
        self.handled += 1
        if self.first is None:
            self.first = now
        self.last = now


def stopped_output(child: subprocess.Popen, log: Path) -> str:
    """The stopped consumer's output; one that does not stop writes its threads' stacks to its log first."""
    try:
        return child.communicate(timeout=60)[0]
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGUSR1)  # faulthandler, registered by the consumer
        time.sleep(1)
        raise SystemExit(f"a consumer did not stop on SIGINT; its stacks:\n{log.read_text(errors='replace')[-6000:]}")\
            from None


def consume(args: argparse.Namespace, command_args: list[str]) -> dict[str, Any]:
    """``manage.py consume_events`` in this process, started on the orchestrator's signal, until SIGINT."""
    from django.core.management import call_command
    from openedx_events.learning.signals import COURSE_PASSING_STATUS_UPDATED

    from benchmarks.workload import credly_answered_in_process

    # Started from a shell in the background, a process inherits SIGINT ignored, and Python then
    # installs no KeyboardInterrupt for it: the stop signal would be lost.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # stacks to the log if SIGINT does not stop it
    keep_whole_backlog(args)
    handled = HandledEvents()
    COURSE_PASSING_STATUS_UPDATED.connect(handled, weak=False, dispatch_uid="bus-drain-benchmark")
    print(READY, flush=True)
    if sys.stdin.readline().strip() != GO:
        raise SystemExit("consumer: no start signal")
    profiler = None
    if args.profile_out:
        import cProfile

        profiler = cProfile.Profile()
    cpu_started = time.process_time()
    with credly_answered_in_process():
        try:
            if profiler is not None:
                profiler.runcall(call_command, "consume_events", *command_args)
            else:
                call_command("consume_events", *command_args)
        except KeyboardInterrupt:
            pass
    cpu = time.process_time() - cpu_started
    if profiler is not None:
        write_profile(profiler, Path(args.profile_out), handled.handled)
    return {"handled": handled.handled, "first": handled.first, "last": handled.last, "cpu_s": round(cpu, 3)}


def write_profile(profiler: Any, path: Path, handled: int) -> None:
    import io
    import pstats

    out = io.StringIO()
    out.write(f"=== cProfile of one consumer, {handled} events handled ===\n")
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(35)
    path.write_text(out.getvalue())


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    command_args: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, command_args = argv[:split], argv[split + 1:]
    args = parse_args(argv)
    if args.role is None:
        orchestrate(args)
        return
    setup_django()
    if args.role == "prepare":
        result = prepare(args)
    elif args.role == "produce":
        result = produce(args)
    else:
        result = consume(args, command_args)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
