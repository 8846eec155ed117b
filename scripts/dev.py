#!/usr/bin/env python3
"""Developer entry point: works on a fresh clone with only Python 3.11+ installed.

    python3 scripts/dev.py serve        # set up, migrate, create an admin, run the service
    python3 scripts/dev.py test [ARGS]  # set up and run the whole test suite (ARGS go to pytest)

Both create (or refresh) the virtual environment ``.venv`` first.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import secrets
import subprocess
import sys
import venv
from pathlib import Path

if sys.version_info < (3, 11):  # noqa: UP036 - this script is what tells an older Python to step aside
    sys.exit("Python 3.11 or newer is required.")

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
VAR = ROOT / "var"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".installed-from"
ADMIN_CREDENTIALS = VAR / "admin-credentials.txt"


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
    manage("shell", "-c", script, env=env)
    return username, password


def serve(options: argparse.Namespace) -> int:
    ensure_venv()
    env = dict(os.environ)
    manage("migrate", "--no-input", env=env)
    username, password = ensure_admin(env)
    url = f"http://127.0.0.1:{options.port}/admin/"
    print(f"\nAdmin: {url}\n  username: {username}\n  password: {password}\n", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        manage("runserver", "--noreload", f"127.0.0.1:{options.port}", env=env)
    return 0


def test(options: argparse.Namespace) -> int:
    ensure_venv()
    return subprocess.run([str(PYTHON), "-m", "pytest", *options.pytest_args], cwd=ROOT).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="set up and run the service with its admin")
    serve_parser.add_argument("--port", type=int, default=8000)
    serve_parser.set_defaults(func=serve)
    test_parser = commands.add_parser("test", help="set up and run the test suite")
    test_parser.add_argument("pytest_args", nargs=argparse.REMAINDER)
    test_parser.set_defaults(func=test)
    options = parser.parse_args()
    return options.func(options)


if __name__ == "__main__":
    sys.exit(main())
