"""Races between threads on one database: the helper the concurrency tests of every area share."""
from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def race(*jobs: Callable[[], object]) -> None:
    """Run the jobs in threads started together; fail on any error or a thread still running."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            job()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert not errors, errors
