"""The newcomer's path, driven over HTTP: ``dev.py serve``, ``dev.py demo-events``, then the admin.

Runs the README's commands as processes on a free port, with a fresh SQLite file and the
per-clone state directory in a temporary place, so a developer's own ``var/`` is untouched.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from badges.testing.brokers import free_port
from tests.e2e.bus_support import ROOT, wait_until

pytestmark = pytest.mark.e2e

DEV = ROOT / "scripts" / "dev.py"


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("EVENT_BUS_", "CELERY_", "BADGES_", "DJANGO_"))}
    env.update({
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DEV_VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "PYTHONUNBUFFERED": "1",
    })
    return env


@pytest.fixture
def served(demo_env: dict[str, str]):
    """``dev.py serve`` running; yields (base URL, admin username, admin password) as it printed them."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(DEV), "serve", "--port", str(port)], cwd=ROOT, env=demo_env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        wait_until(lambda: process.poll() is not None or accepts_connections(port), 120,
                   lambda: "the admin to listen:\n" + "".join(output))
        assert process.poll() is None, "".join(output)
        text = "".join(output)
        username = re.search(r"username: (\S+)", text).group(1)
        password = re.search(r"password: (\S+)", text).group(1)
        yield f"http://127.0.0.1:{port}", username, password
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
        reader.join(5)
    fake_url = re.search(r"Fake provider \(demo Credly\): (\S+)", "".join(output)).group(1)
    fake_port = int(fake_url.rstrip("/").rsplit(":", 1)[1])
    assert not accepts_connections(fake_port), "serve left the fake provider running"


def admin_session(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base}/admin/login/", timeout=10).raise_for_status()
    response = session.post(
        f"{base}/admin/login/?next=/admin/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"],
              "next": "/admin/"},
        headers={"Referer": f"{base}/admin/login/"}, timeout=10,
    )
    assert response.url.rstrip("/").endswith("/admin"), "admin login failed"
    return session


def test_serve_then_demo_events_shows_the_issued_badge_in_the_admin(served, demo_env: dict[str, str]) -> None:
    base, username, password = served
    state = json.loads((Path(demo_env["DEV_VAR_DIR"]) / "demo.json").read_text())
    fake_badges_url = f"{state['fake_provider']}_fake/credly/badges"
    session = admin_session(base, username, password)

    first = subprocess.run([sys.executable, str(DEV), "demo-events", "--course", "course-v1:DemoX+Intro+2024"],
                           cwd=ROOT, env=demo_env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    progress = session.get(f"{base}/admin/badges/badgeprogress/", timeout=10)
    assert progress.status_code == 200
    assert "demo-learner" in progress.text
    assert requests.get(fake_badges_url, timeout=10).json()["badges"] == []

    second = subprocess.run([sys.executable, str(DEV), "demo-events"], cwd=ROOT, env=demo_env,
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stdout + second.stderr
    [issued] = requests.get(fake_badges_url, timeout=10).json()["badges"]
    assert issued["recipient_email"] == "demo-learner@example.com"

    badges_page = session.get(f"{base}/admin/badges/credlybadge/", timeout=10)
    assert badges_page.status_code == 200
    assert "demo-learner" in badges_page.text
    assert issued["id"] in badges_page.text
