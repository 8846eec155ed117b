"""What the service does about a database it cannot reach: recognise it, and start afresh."""
from __future__ import annotations

import contextlib

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
