"""What badges needs to know about openedx-events: signals, payloads, learners and key paths.

Everything here works from the attrs data classes openedx-events declares, so a new event type
configured in ``BADGES_CONFIG["events"]`` needs no code as long as its payload carries a
``UserData``.
"""
from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Iterable, Iterator
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


@functools.cache
def _attrs_field_names(cls: type) -> tuple[str, ...] | None:
    """The attribute names of an attrs class, None for any other class (cached: asked for every value)."""
    return tuple(field.name for field in attr.fields(cls)) if attr.has(cls) else None


#: Types whose values are already plain data (exact types: a subclass, such as a text enum, goes the long way).
_SCALARS = frozenset({str, bool, int, float, type(None)})


def plain_data(value: Any) -> Any:
    """``value`` as JSON-able data: attrs objects as dicts, collections as lists, date-times as ISO text,
    anything else unknown (opaque keys: CourseKey, CCXLocator...) as its text.

    What ``attr.asdict`` with a serializer gives, in a third of its time: it runs for every event.
    """
    if type(value) in _SCALARS or isinstance(value, str | bool | int | float):
        return value
    names = _attrs_field_names(type(value))
    if names is not None:
        plain = {}
        for name in names:
            item = getattr(value, name)
            plain[name] = item if type(item) in _SCALARS else plain_data(item)
        return plain
    if isinstance(value, list | tuple | set | frozenset):
        return [plain_data(item) for item in value]
    if isinstance(value, dict):
        return {plain_data(key): plain_data(item) for key, item in value.items()}
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return str(value)


def event_payload(event_type: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The event's data kwargs as plain JSON-able dicts, rooted as :func:`event_key_paths` is."""
    signal = event_signal(event_type)
    names = list(signal.init_data) if signal is not None else []
    payload: dict[str, Any] = {}
    for name in names:
        if name not in kwargs:
            continue
        value = kwargs[name]
        plain = plain_data(value) if _attrs_field_names(type(value)) is not None else value
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
    names = _attrs_field_names(type(value))
    if names is not None:
        children: Iterable[Any] = (getattr(value, name) for name in names)
    elif isinstance(value, dict):
        children = value.values()
    elif isinstance(value, list | tuple):
        children = value
    else:
        return None
    for child in children:
        if type(child) in _SCALARS:
            continue
        found = find_user_data(child, _depth + 1)
        if found is not None:
            return found
    return None


#: What no database stores faithfully: a NUL character, a lone surrogate.
_UNSTORABLE_CHARACTER = re.compile("[\x00\ud800-\udfff]")


def unstorable_text(value: Any, path: str = "") -> str | None:
    """The dotted path of the first text in ``value`` holding a NUL or a lone surrogate, else None.

    No database stores such text faithfully (PostgreSQL refuses NUL in text and JSON, and a lone
    surrogate cannot be encoded for any of them), and no real learner or course has it. Every
    event is checked, so the common case (nothing found) builds no paths: they are built on the
    way back from a find.
    """
    found = _unstorable_at(value)
    if found is None:
        return None
    steps = [path] if path else []
    for step in reversed(found):
        steps.append(f"[{step}]" if isinstance(step, int) else ("." if steps else "") + step)
    return "".join(steps) or "(text)"


def _unstorable_at(value: Any) -> list[str | int] | None:
    """The steps (keys, list indexes) to the first unstorable text, innermost first; [] for ``value`` itself."""
    if isinstance(value, str):
        return [] if _UNSTORABLE_CHARACTER.search(value) else None
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(key, str) and _UNSTORABLE_CHARACTER.search(key):
                return [key]
            found = _unstorable_child(child)
            if found is not None:
                found.append(str(key))
                return found
    elif isinstance(value, list | tuple):
        for index, child in enumerate(value):
            found = _unstorable_child(child)
            if found is not None:
                found.append(index)
                return found
    return None


def _unstorable_child(child: Any) -> list[str | int] | None:
    if type(child) is str:
        return [] if _UNSTORABLE_CHARACTER.search(child) else None
    return None if type(child) in _SCALARS else _unstorable_at(child)
