"""What badges needs to know about openedx-events: signals, payloads, learners and key paths.

Everything here works from the attrs data classes openedx-events declares, so a new event type
configured in ``BADGES_CONFIG["events"]`` needs no code as long as its payload carries a
``UserData``.
"""
from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import attr
from openedx_events.learning.data import UserData
from openedx_events.tooling import OpenEdxPublicSignal, load_all_signals

_signals_loaded = False


def event_signal(event_type: str) -> OpenEdxPublicSignal | None:
    """The public signal for ``event_type``, or None when openedx-events defines no such event."""
    global _signals_loaded
    try:
        return OpenEdxPublicSignal.get_signal_by_type(event_type)
    except KeyError:
        if _signals_loaded:
            return None
    load_all_signals()
    _signals_loaded = True
    try:
        return OpenEdxPublicSignal.get_signal_by_type(event_type)
    except KeyError:
        return None


def _attrs_class(tp: Any) -> type | None:
    return tp if isinstance(tp, type) and attr.has(tp) else None


def _type_has_user_data(tp: type, seen: frozenset[type] = frozenset()) -> bool:
    if issubclass(tp, UserData):
        return True
    for field in attr.fields(tp):
        sub = _attrs_class(field.type)
        if sub is not None and sub not in seen and _type_has_user_data(sub, seen | {tp}):
            return True
    return False


def payload_has_user_data(signal: OpenEdxPublicSignal) -> bool:
    """Whether the event's declared payload carries a ``UserData`` somewhere."""
    return any(
        _attrs_class(tp) is not None and _type_has_user_data(tp) for tp in signal.init_data.values()
    )


def _leaf_paths(tp: type, prefix: str) -> Iterator[tuple[str, Any]]:
    for field in attr.fields(tp):
        path = f"{prefix}{field.name}"
        sub = _attrs_class(field.type)
        if sub is not None:
            yield from _leaf_paths(sub, f"{path}.")
        else:
            yield path, field.type


def _payload_roots(signal: OpenEdxPublicSignal) -> dict[str, str]:
    """kwarg name -> key-path prefix. A single-kwarg event's paths start below its kwarg."""
    names = list(signal.init_data)
    return {name: "" if len(names) == 1 else f"{name}." for name in names}


def event_key_paths(event_type: str, ignored: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """Dotted key paths of the event's payload -> declared leaf type, minus ``ignored``.

    These are the paths a data rule may test, e.g. ``is_passing`` or ``course.course_key``.
    """
    signal = event_signal(event_type)
    if signal is None:
        return {}
    paths: dict[str, Any] = {}
    for name, prefix in _payload_roots(signal).items():
        tp = signal.init_data[name]
        if _attrs_class(tp) is None:
            paths[name] = tp
            continue
        paths.update(_leaf_paths(tp, prefix))
    return {path: tp for path, tp in paths.items() if path not in set(ignored)}


def _serialize(_inst: Any, _field: Any, value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str | list | tuple | dict) or attr.has(type(value)):
        return value
    return str(value)  # opaque keys (CourseKey, CCXLocator, ...)


def event_payload(event_type: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The event's data kwargs as plain JSON-able dicts, rooted as :func:`event_key_paths` is."""
    signal = event_signal(event_type)
    names = list(signal.init_data) if signal is not None else []
    payload: dict[str, Any] = {}
    for name in names:
        if name not in kwargs:
            continue
        value = kwargs[name]
        plain = attr.asdict(value, value_serializer=_serialize) if attr.has(type(value)) else value
        if len(names) == 1 and isinstance(plain, dict):
            return plain
        payload[name] = plain
    return payload


def find_user_data(value: Any, _depth: int = 0) -> UserData | None:
    """The first ``UserData`` found anywhere in an event's kwargs (attrs objects, dicts, lists)."""
    if isinstance(value, UserData):
        return value
    if _depth > 8:
        return None
    if attr.has(type(value)):
        children = (getattr(value, f.name) for f in attr.fields(type(value)))
    elif isinstance(value, dict):
        children = iter(value.values())
    elif isinstance(value, list | tuple):
        children = iter(value)
    else:
        return None
    for child in children:
        found = find_user_data(child, _depth + 1)
        if found is not None:
            return found
    return None


def unstorable_text(value: Any, path: str = "") -> str | None:
    """The dotted path of the first text in ``value`` holding a NUL or a lone surrogate, else None.

    No database stores such text faithfully (PostgreSQL refuses NUL in text and JSON, and a lone
    surrogate cannot be encoded for any of them), and no real learner or course has it.
    """
    if isinstance(value, str):
        return path or "(text)" if "\x00" in value or any("\ud800" <= char <= "\udfff" for char in value) else None
    if isinstance(value, dict):
        items = ((f"{path}.{key}" if path else str(key), key, child) for key, child in value.items())
        for child_path, key, child in items:
            found = unstorable_text(key, child_path) if isinstance(key, str) else None
            found = found or unstorable_text(child, child_path)
            if found:
                return found
    if isinstance(value, list | tuple):
        for index, child in enumerate(value):
            found = unstorable_text(child, f"{path}[{index}]")
            if found:
                return found
    return None
