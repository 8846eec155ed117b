"""A database outage inside the receiver pauses consumption instead of losing the event."""
from types import SimpleNamespace

import pytest
from django.db import OperationalError

from badges import receivers


@pytest.fixture
def no_sleep(monkeypatch):
    """Record the back-off delays instead of sleeping, and the connection resets between attempts."""
    slept = []
    monkeypatch.setattr(receivers.time, "sleep", slept.append)
    monkeypatch.setattr(receivers, "close_old_connections", lambda: slept.append("reconnect"))
    return slept


def test_event_is_handled_once_the_database_is_back(monkeypatch, no_sleep):
    calls = []

    def handle_event(event_type, kwargs):
        calls.append(event_type)
        if len(calls) < 3:
            raise OperationalError("could not connect to server")

    monkeypatch.setattr(receivers.engine, "handle_event", handle_event)
    receivers.receive_event(None, SimpleNamespace(event_type="some.event.v1"), course_passing_status=object())
    assert calls == ["some.event.v1"] * 3
    assert no_sleep == ["reconnect", 0.5, "reconnect", 1.0]


def test_outage_longer_than_the_window_is_raised_to_the_consumer(monkeypatch, settings, no_sleep):
    settings.BADGES_RECEIVER_DB_RETRY_SECONDS = 0

    def handle_event(event_type, kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(receivers.engine, "handle_event", handle_event)
    with pytest.raises(OperationalError):
        receivers.receive_event(None, SimpleNamespace(event_type="some.event.v1"))
    assert no_sleep == []
