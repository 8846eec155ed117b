"""Which errors make the bus consumers wait for the database (the waiting itself: tests/reliability)."""
from __future__ import annotations

import pytest
from django.db import IntegrityError, InterfaceError, OperationalError, connection
from edx_event_bus_kafka.internal.consumer import ReceiverError as KafkaReceiverError
from edx_event_bus_redis.internal.consumer import ReceiverError as RedisReceiverError

from badges import consumers
from badges.database import database_unreachable


@pytest.mark.parametrize("error", [
    OperationalError("connection refused"),
    InterfaceError("connection already closed"),
    # the reconnect of prepare_for_new_work_cycle() is not wrapped by Django: the configured driver's own errors
    connection.Database.OperationalError("server closed the connection unexpectedly"),
    connection.Database.InterfaceError("connection already closed"),
    RedisReceiverError("1 receiver(s) out of 1 produced errors", [OperationalError("connection refused")]),
    KafkaReceiverError("2 receiver(s) out of 2 produced errors", [ValueError("x"), OperationalError("timeout")]),
])
def test_an_unreachable_database_is_recognised(error: Exception) -> None:
    assert database_unreachable(error)


@pytest.mark.parametrize("error", [
    ValueError("bad payload"),
    IntegrityError("duplicate key"),
    RedisReceiverError("1 receiver(s) out of 1 produced errors", [KeyError("user")]),
])
def test_other_errors_are_left_to_the_library(error: Exception) -> None:
    assert not database_unreachable(error)


def test_the_same_message_is_handled_again_until_the_database_is_back(monkeypatch) -> None:
    waits: list[float] = []
    monkeypatch.setattr(consumers.time, "sleep", waits.append)
    outcomes = [OperationalError("refused"), OperationalError("refused"), None]
    attempts = []

    def handle() -> None:
        attempts.append(1)
        error = outcomes.pop(0)
        if error:
            raise error

    assert consumers.handle_when_database_is_back(handle, OperationalError("refused"), "message 1") is None
    assert len(attempts) == 3
    assert waits == [0.5, 1.0, 2.0]


def test_an_error_of_another_kind_ends_the_wait_and_is_returned(monkeypatch) -> None:
    monkeypatch.setattr(consumers.time, "sleep", lambda seconds: None)
    unreadable = ValueError("unreadable")

    def handle() -> None:
        raise unreadable

    assert consumers.handle_when_database_is_back(handle, OperationalError("refused"), "message 1") is unreadable
