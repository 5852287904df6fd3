"""Stamping an event with its place in history: the run's single writer does it."""

from __future__ import annotations

from dataclasses import fields
from typing import TypeVar

from aion_actors.core.events import EVENT_TYPES, Event

_E = TypeVar("_E", bound=Event)
_PAYLOAD_FIELDS: dict[type[Event], tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls) if f.name not in ("seq", "recorded_at"))
    for cls in EVENT_TYPES.values()
}
_new = object.__new__
_set = object.__setattr__


def stamp(event: _E, seq: int, recorded_at: int) -> _E:
    """A copy of `event` at `seq`, recorded at `recorded_at`.

    Copied field by field the way the frozen dataclass's own ``__init__`` sets
    them: 2.5x cheaper than `dataclasses.replace`, on a path every event takes.
    A class that is no event kind of this schema raises `KeyError`.
    """
    names = _PAYLOAD_FIELDS[type(event)]
    stamped = _new(type(event))
    _set(stamped, "seq", seq)
    _set(stamped, "recorded_at", recorded_at)
    for name in names:
        _set(stamped, name, getattr(event, name))
    return stamped
