"""Process and polling helpers shared by the test tooling and the end-to-end tests."""
from __future__ import annotations

import signal
import socketserver
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any


def stop_process(process: subprocess.Popen, first_signal: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    """Stop a child process by PID: ``first_signal``, then SIGKILL if it has not exited after ``timeout``."""
    if process.poll() is not None:
        return
    process.send_signal(first_signal)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


def wait_until(condition: Callable[[], Any], timeout: float, what: str | Callable[[], str],
               interval: float = 0.2) -> Any:
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` after ``timeout``.

    ``what`` may be a callable, evaluated only on failure (e.g. to include a process's log).
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what() if callable(what) else what}")
        time.sleep(interval)


def serve_until_stopped(server: socketserver.BaseServer) -> None:
    """Run a test server in the foreground until Ctrl-C or SIGTERM (how the tests stop it), then close it."""
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
