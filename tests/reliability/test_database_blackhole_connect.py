"""A database host that accepts connections and never answers: a service process gives up, on
PostgreSQL (psycopg) and on MariaDB (PyMySQL, whose handshake read had no timeout at all).

A process of the host service (``manage.py shell``) connects through the fault proxy in
``blackhole`` mode with short timeouts from the environment. It must fail with an
``OperationalError`` instead of waiting forever; with the proxy ``up`` the same command connects.

PostgreSQL: the server of ``RELIABILITY_POSTGRES_URL`` (default ``127.0.0.1:5432``); MariaDB: the
server of ``RELIABILITY_MARIADB_URL`` (default ``mysql://root@127.0.0.1:3306/``). The test connects
to their built-in databases (``postgres``, ``mysql``) and changes nothing.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from urllib.parse import urlparse

import pytest

from badges.testing.fault_proxy import FaultProxy, Mode
from tests.e2e.bus_support import ROOT

# The servers' own databases (always there): the test only connects.
DATABASES = {
    "postgresql": urlparse(os.environ.get("RELIABILITY_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/badges_reliability"))
    ._replace(path="/postgres").geturl(),
    "mariadb": urlparse(os.environ.get("RELIABILITY_MARIADB_URL", "mysql://root@127.0.0.1:3306/badges_reliability"))
    ._replace(path="/mysql").geturl(),
}
CONNECT = "from django.db import connection; connection.ensure_connection(); print('connected')"
GIVE_UP_WITHIN_SECONDS = 60  # bounds the test; the timeouts below are 2 and 3 s


def require_server(url: str) -> None:
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port), timeout=5).close()
    except OSError as error:
        pytest.fail(f"this scenario needs a database server at {parsed.hostname}:{parsed.port}: {error}")


def connect_through(proxy: FaultProxy, url: str, mode: Mode) -> subprocess.CompletedProcess:
    parsed = urlparse(url)
    proxy.set_mode(mode)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "credentials_project.settings",
           "DATABASE_URL": parsed._replace(netloc=f"{parsed.username}@127.0.0.1:{proxy.port}").geturl(),
           "DATABASE_CONNECT_TIMEOUT_SECONDS": "2", "DATABASE_READ_TIMEOUT_SECONDS": "3"}
    try:
        return subprocess.run([sys.executable, "manage.py", "shell", "-c", CONNECT], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=GIVE_UP_WITHIN_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"a connection to a {mode} database host was still waiting after {GIVE_UP_WITHIN_SECONDS}s")


@pytest.mark.parametrize("engine", sorted(DATABASES))
def test_a_silent_database_host_makes_the_connection_fail_instead_of_hang(engine: str) -> None:
    url = DATABASES[engine]
    require_server(url)
    parsed = urlparse(url)
    with FaultProxy(parsed.hostname, parsed.port) as proxy:
        silent = connect_through(proxy, url, "blackhole")
        assert silent.returncode != 0 and "OperationalError" in silent.stderr, silent.stderr[-2000:]
        reachable = connect_through(proxy, url, "up")
    assert reachable.returncode == 0 and "connected" in reachable.stdout, reachable.stderr[-2000:]
