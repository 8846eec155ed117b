#!/usr/bin/env python3
"""Developer entry point: works on a fresh clone with only Python 3.11+ installed.

    python3 scripts/dev.py serve        # set up, migrate, create an admin, run the service with the demo
    python3 scripts/dev.py demo-events  # send the demo learner's course-passing events to it
    python3 scripts/dev.py test [ARGS]  # set up and run the whole test suite (ARGS go to pytest)

Both create (or refresh) the virtual environment ``.venv`` first.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import venv
from pathlib import Path

if sys.version_info < (3, 11):  # noqa: UP036 - this script is what tells an older Python to step aside
    sys.exit("Python 3.11 or newer is required.")

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
# DEV_VAR_DIR moves the per-clone state (admin credentials, demo state) elsewhere, e.g. for a test.
VAR = Path(os.environ.get("DEV_VAR_DIR") or ROOT / "var")
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".installed-from"
ADMIN_CREDENTIALS = VAR / "admin-credentials.txt"
DEMO_STATE = VAR / "demo.json"
BUS_TOPIC = "learning-badges-lifecycle"


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True, env=env)


def ensure_venv() -> None:
    """Create ``.venv`` and install the project with its dev extras when pyproject.toml changed."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not PYTHON.exists():
        print(f"Creating virtual environment in {VENV} ...", flush=True)
        venv.create(VENV, with_pip=True)
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PYTHON, "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    STAMP.write_text(wanted)


def manage(*args: str, env: dict[str, str] | None = None) -> None:
    run(PYTHON, "manage.py", *args, env=env)


def admin_credentials() -> tuple[str, str]:
    """The local admin account's credentials, created once per clone and kept in var/."""
    VAR.mkdir(exist_ok=True)
    if not ADMIN_CREDENTIALS.exists():
        ADMIN_CREDENTIALS.write_text(f"admin\n{secrets.token_urlsafe(12)}\n")
        ADMIN_CREDENTIALS.chmod(0o600)
    username, password = ADMIN_CREDENTIALS.read_text().split()
    return username, password


def ensure_admin(env: dict[str, str]) -> tuple[str, str]:
    username, password = admin_credentials()
    script = (
        "from django.contrib.auth import get_user_model; U = get_user_model(); "
        f"u, _ = U.objects.get_or_create(username={username!r}, defaults={{'email': 'admin@example.com'}}); "
        f"u.is_staff = u.is_superuser = True; u.set_password({password!r}); u.save()"
    )
    manage("shell", "--verbosity", "0", "-c", script, env=env)
    return username, password


def stop_process(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """Stop one child we started, by its PID: SIGINT (like Ctrl-C), then SIGKILL if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


def start_fake_provider(port: int = 0) -> tuple[subprocess.Popen, dict[str, str]]:
    """The local fake Credly/Accredible server on ``port`` (0: a free one); returns the process and its URLs."""
    process = subprocess.Popen(
        [str(PYTHON), "-m", "badges.testing.fake_provider", "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    if not line:
        stop_process(process)
        raise SystemExit("The fake provider did not start.")
    return process, json.loads(line)


def demo_badges_config(urls: dict[str, str]) -> str:
    """The operator's BADGES_CONFIG (if any) with both providers pointed at the fake provider."""
    config = json.loads(os.environ.get("BADGES_CONFIG") or "{}")
    config.setdefault("credly", {}).update(
        {"CREDLY_BASE_URL": urls["credly"], "CREDLY_API_BASE_URL": urls["credly_api"], "USE_SANDBOX": False}
    )
    config.setdefault("accredible", {}).update({
        "ACCREDIBLE_BASE_URL": urls["accredible"], "ACCREDIBLE_API_BASE_URL": urls["accredible_api"],
        "USE_SANDBOX": False,
    })
    return json.dumps(config)


def start_pipeline_processes(env: dict[str, str]) -> list[subprocess.Popen]:
    """What runs the pipeline outside the web process, only when the environment asks for it.

    By default Celery runs tasks in-process and events are sent in-process, so only the periodic
    sweep needs a process of its own (it retries what a provider failure left waiting). With
    CELERY_BROKER_URL a worker runs the tasks and its embedded beat runs the sweep; with
    EVENT_BUS_BACKEND a consumer reads the bus.
    """
    processes = []
    if env.get("CELERY_BROKER_URL"):
        processes.append(subprocess.Popen(
            [str(PYTHON), "-m", "celery", "-A", "credentials_project", "worker", "--beat", "--loglevel", "INFO",
             "--concurrency", "1", "--schedule", str(VAR / "celerybeat-schedule")], cwd=ROOT, env=env,
        ))
    else:
        processes.append(subprocess.Popen([str(PYTHON), "manage.py", "sweep_badges", "--every", "60", "--skip-checks"],
                                          cwd=ROOT, env=env, stdout=subprocess.DEVNULL))
    if env.get("EVENT_BUS_BACKEND"):
        command = [str(PYTHON), "manage.py", "consume_events", "-t", BUS_TOPIC, "-g", "badges-demo"]
        if env["EVENT_BUS_BACKEND"].strip().lower() == "redis":
            command += ["--extra", json.dumps({"consumer_name": "badges-demo-1", "check_backlog": True})]
        processes.append(subprocess.Popen(command, cwd=ROOT, env=env))
    return processes


def serve(options: argparse.Namespace) -> int:
    """Set up, start the fake provider, seed the demo and run the service until Ctrl-C (or SIGTERM)."""
    # Ctrl-C and SIGTERM both end the run and stop the children below. Handling SIGINT explicitly
    # also gives the children a working Ctrl-C when this script was started with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    ensure_venv()
    env = dict(os.environ)
    # The system checks' warnings are printed once, by runserver; the setup steps skip them.
    manage("migrate", "--no-input", "--skip-checks", env=env)
    # The admin's CSS and JS, served by WhiteNoise from STATIC_ROOT with DEBUG off.
    manage("collectstatic", "--no-input", "--verbosity", "0", "--skip-checks", env=env)
    children: list[subprocess.Popen] = []
    try:
        fake_provider, urls = start_fake_provider(options.provider_port)
        children.append(fake_provider)
        env["BADGES_CONFIG"] = demo_badges_config(urls)
        VAR.mkdir(parents=True, exist_ok=True)
        DEMO_STATE.write_text(json.dumps({"fake_provider": urls["url"], "BADGES_CONFIG": env["BADGES_CONFIG"]}))
        manage("seed_demo", "--skip-checks", env=env)
        username, password = ensure_admin(env)
        children += start_pipeline_processes(env)
        url = f"http://127.0.0.1:{options.port}/admin/"
        print(
            f"\nAdmin: {url}\n  username: {username}\n  password: {password}\n"
            f"Fake provider (demo Credly): {urls['url']}\n"
            "Send the demo learner's events from another terminal:\n"
            "  python3 scripts/dev.py demo-events --course course-v1:DemoX+Intro+2024   # progress: group A\n"
            "  python3 scripts/dev.py demo-events                                       # both groups: the badge\n"
            f"then look at {url}badges/badgeprogress/ and {url}badges/credlybadge/\n",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            manage("runserver", "--noreload", f"127.0.0.1:{options.port}", env=env)
    except KeyboardInterrupt:
        pass
    finally:
        for child in reversed(children):
            stop_process(child)
        DEMO_STATE.unlink(missing_ok=True)
    return 0


def demo_events(options: argparse.Namespace) -> int:
    """Send the demo events to the running ``serve``'s database (or onto its event bus)."""
    ensure_venv()
    if not DEMO_STATE.exists():
        sys.exit("No demo is running: start `python3 scripts/dev.py serve` first (in another terminal).")
    env = dict(os.environ, BADGES_CONFIG=json.loads(DEMO_STATE.read_text())["BADGES_CONFIG"])
    return subprocess.run(
        [str(PYTHON), "manage.py", "send_demo_events", *options.send_args], cwd=ROOT, env=env
    ).returncode


def ensure_chromium() -> None:
    """The browser test drives Debian's chromium: install it when missing and this user may (root, apt)."""
    if shutil.which("chromium"):
        return
    if os.name == "posix" and os.geteuid() == 0 and shutil.which("apt-get"):
        print("Installing chromium for the browser test ...", flush=True)
        install = ["apt-get", "install", "-y", "-qq", "chromium"]
        if subprocess.run(install, check=False).returncode != 0:
            run("apt-get", "update", "-qq")
            run(*install)
    else:
        print("chromium is missing (apt-get install chromium); the browser test will fail.", flush=True)


def test(options: argparse.Namespace) -> int:
    ensure_venv()
    ensure_chromium()
    return subprocess.run([str(PYTHON), "-m", "pytest", *options.pytest_args], cwd=ROOT).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="set up and run the service with its admin")
    serve_parser.add_argument("--port", type=int, default=8000, help="port of the admin (default 8000)")
    serve_parser.add_argument("--provider-port", type=int, default=0,
                              help="port of the fake provider (default 0: a free one)")
    serve_parser.set_defaults(func=serve)
    demo_parser = commands.add_parser(
        "demo-events", help="send the demo learner's course-passing events (ARGS go to send_demo_events)"
    )
    demo_parser.set_defaults(func=demo_events)
    test_parser = commands.add_parser("test", help="set up and run the test suite")
    test_parser.add_argument("pytest_args", nargs=argparse.REMAINDER)
    test_parser.set_defaults(func=test)
    # Options meant for pytest / send_demo_events (e.g. `test -m "not e2e"`) are not dev.py's own.
    options, extra = parser.parse_known_args()
    if options.func is test:
        options.pytest_args = extra + options.pytest_args
    elif options.func is demo_events:
        options.send_args = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return options.func(options)


if __name__ == "__main__":
    sys.exit(main())
