"""A payload converter at fault: errors that name it, and the value it failed on.

A converter's `to_payload` must return msgpack values. When it raises, the
error names the converter (its class) and the innermost value of the
caller's that it fails on (`input[0]`, found by asking it again about each
item of the plain lists, tuples and dicts it failed on). When what it returns
is not msgpack, the error names the converter and the path of the value in
its output, and says whether the converter made that value (its own bug) or
left one of the caller's as it was (a type it does not know). Only the
failure costs this search; a converter that works costs one encoding.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any, Final

from aion_actors.core.codec import MAX_DEPTH, packb, subscript
from aion_actors.core.converter import PayloadConverter
from aion_actors.core.errors import PayloadError

_MSGPACK: Final = (str, int, float, bytes, type(None), dt.datetime, uuid.UUID)
_KEYS: Final = (str, int, bytes)
_CONTRACT: Final = (
    "its to_payload must return msgpack values (None, bool, int, float, str, bytes, lists, "
    "dicts with str keys, datetime, UUID)"
)

_DEEP: Final = f"; a payload nests at most {MAX_DEPTH} levels deep (does the value hold itself?)"


def name(converter: PayloadConverter) -> str:
    """How errors name a converter: by its class."""
    return f"the payload converter {type(converter).__qualname__.rsplit('<locals>.', 1)[-1]}"


def failed(converter: PayloadConverter, value: Any, path: str, exc: Exception) -> PayloadError:
    """`converter.to_payload(value)` raised `exc`: the error naming it, at the innermost item
    of `value` it fails on."""
    path, value, exc = _innermost(converter, value, path, exc, set())
    hint = _DEEP if isinstance(exc, RecursionError) else ""
    return PayloadError(
        path,
        f"{name(converter)} failed on this {type(value).__name__} ({type(exc).__name__}: "
        f"{exc}){hint}; fix its to_payload, or pass a value it takes",
    )


def checked_output(converter: PayloadConverter, value: Any, encoded: Any, path: str) -> None:
    """Raise a `PayloadError` naming `converter` if `encoded`, what it made of `value`,
    holds what is not a msgpack value; what is wrong with a msgpack value itself (its
    depth, its size) is left to the payload checks, which name it."""
    try:
        packb(encoded)
    except Exception:
        found = _foreign(encoded, path, 0)
        if found is None:
            return
        where, leaf, problem = found
        if any(item is leaf for item in _parts(value, set(), 0)):
            whose = (
                f"{name(converter)} left it as it was (a type it does not know): teach it the "
                f"type, or pass a msgpack value"
            )
        else:
            whose = f"{name(converter)} made it from a {type(value).__name__}: {_CONTRACT}"
        raise PayloadError(where, f"{problem}; {whose}") from None


def a_list(converter: PayloadConverter, encoded: Any, path: str) -> list[Any]:
    """`encoded`, what `converter` made of a list of arguments, if it is one (as a list)."""
    if isinstance(encoded, list | tuple):
        return list(encoded)
    raise PayloadError(
        path,
        f"{name(converter)} made a {type(encoded).__name__} from the arguments (a list); "
        "its to_payload must return a list for a list",
    )


def _innermost(
    converter: PayloadConverter, value: Any, path: str, exc: Exception, seen: set[int]
) -> tuple[str, Any, Exception]:
    """The innermost item of `value` (a plain container) that `converter` fails on."""
    seen.add(id(value))
    if len(seen) > MAX_DEPTH:
        return path, value, exc
    if isinstance(value, list | tuple):
        items: Iterator[tuple[str, Any]] = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    elif isinstance(value, dict):
        items = ((subscript(path, k), v) for k, v in value.items())
    else:
        return path, value, exc
    for where, item in items:
        if id(item) in seen:
            continue
        try:
            converter.to_payload(item)
        except Exception as inner:
            return _innermost(converter, item, where, inner, seen)
    return path, value, exc


def _foreign(value: Any, path: str, depth: int) -> tuple[str, Any, str] | None:
    """The first value under `value` that is no msgpack value: its path, itself, and what is
    wrong; None if there is none within `MAX_DEPTH` levels."""
    if isinstance(value, _MSGPACK) or depth > MAX_DEPTH:
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if (found := _foreign(item, f"{path}[{index}]", depth + 1)) is not None:
                return found
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, _KEYS):
                kind = type(key).__name__
                return subscript(path, key), key, f"dict key of type {kind} is not serialisable"
            if (found := _foreign(item, subscript(path, key), depth + 1)) is not None:
                return found
        return None
    return path, value, f"{type(value).__name__} is not serialisable"


def _parts(value: Any, seen: set[int], depth: int) -> Iterator[Any]:
    """`value` and what it holds — items, keys, fields, attributes — at any depth."""
    if id(value) in seen or depth > MAX_DEPTH:
        return
    seen.add(id(value))
    yield value
    if isinstance(value, _MSGPACK):
        return
    if isinstance(value, dict):
        held: list[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        held = list(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        held = [getattr(value, f.name, None) for f in dataclasses.fields(value)]
    else:
        held = list(getattr(value, "__dict__", {}).values())
    for item in held:
        yield from _parts(item, seen, depth + 1)
