"""A database the service cannot reach: recognise it, start afresh, and warn when nothing bounds the wait."""
from __future__ import annotations

import contextlib
from typing import Any

from django.conf import settings
from django.core import checks
from django.db import DatabaseError, InterfaceError, OperationalError, connections


def database_unreachable(error: BaseException) -> bool:
    """Whether ``error``, or one of the receiver errors a bus library's ``ReceiverError`` carries, is
    the database being unreachable (connection refused, reset, timed out; SQLite's lock timeout
    also lands here).

    openedx-events' reconnect calls ``connection.connect()``, which Django does not wrap, so the
    database driver's own exceptions count as well as Django's.
    """
    kinds: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
    for connection in connections.all():
        kinds += (connection.Database.OperationalError, connection.Database.InterfaceError)
    causes = getattr(error, "causes", None) or [error]
    return any(isinstance(cause, kinds) for cause in causes)


def close_database_connections() -> None:
    """Drop every connection, broken or not, so the next query opens a fresh one."""
    for connection in connections.all(initialized_only=True):
        # Closing a connection whose server is gone can fail; it is discarded all the same.
        with contextlib.suppress(DatabaseError):
            connection.close()


def check_database_timeouts(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """System check: warn when the default database could block a consumer or worker forever.

    A Credentials host configures its own ``DATABASES``; without a connect timeout (and, on
    MySQL/MariaDB, a read timeout) a database host that accepts connections and never answers
    stalls the bus consumer and the Celery workers until they are restarted.
    """
    return database_timeout_warnings(settings.DATABASES.get("default", {}))


def database_timeout_warnings(database: dict[str, Any]) -> list[checks.CheckMessage]:
    engine = database.get("ENGINE", "")
    options = database.get("OPTIONS", {})
    if engine.endswith("postgresql"):
        missing = [] if "connect_timeout" in options else ["connect_timeout"]
    elif engine.endswith("mysql"):
        missing = [name for name in ("connect_timeout", "read_timeout") if name not in options]
    else:
        return []
    if not missing:
        return []
    return [checks.Warning(
        f"The default database sets no {' and no '.join(missing)}: an unresponsive database host would "
        "block the event-bus consumer and the task workers forever.",
        hint="Add them to DATABASES['default']['OPTIONS'] (see the badges docs: settings, database timeouts).",
        id="badges.W040",
    )]
