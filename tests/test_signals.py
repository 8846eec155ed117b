"""Badge events queued in the event-bus producer are flushed, within a bound, when the process exits."""
import logging
from functools import lru_cache

from badges import signals


class FakeKafkaClient:
    def __init__(self, undelivered: int) -> None:
        self.undelivered = undelivered
        self.flush_timeouts: list[float] = []

    def flush(self, timeout: float) -> int:
        self.flush_timeouts.append(timeout)
        return self.undelivered


class FakeProducer:
    def __init__(self, undelivered: int = 0) -> None:
        self.producer = FakeKafkaClient(undelivered)


def test_created_producer_is_flushed_with_a_bound(monkeypatch):
    producer = FakeProducer()
    monkeypatch.setattr(signals, "get_producer", lru_cache(lambda: producer))
    signals.get_producer()
    signals.flush_event_bus_producer(timeout=3)
    assert producer.producer.flush_timeouts == [3]


def test_undelivered_events_are_logged(monkeypatch, caplog):
    producer = FakeProducer(undelivered=2)
    monkeypatch.setattr(signals, "get_producer", lru_cache(lambda: producer))
    signals.get_producer()
    with caplog.at_level(logging.ERROR, logger="badges.signals"):
        signals.flush_event_bus_producer()
    assert "2 badge event(s) were not delivered" in caplog.text


def test_producer_never_created_is_not_created_at_exit(monkeypatch):
    created = []
    monkeypatch.setattr(signals, "get_producer", lru_cache(lambda: created.append(1)))
    signals.flush_event_bus_producer()
    assert created == []
