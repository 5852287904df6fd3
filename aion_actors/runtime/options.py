"""The options of `@activity(...)`, `@workflow(...)` and `engine.register(...)`, checked.

Each check returns the value to keep, or raises a `ConfigError` that names
the definition (`label`, e.g. "activity 'charge'"), the option, what it takes
and what it got — at decoration, never at the first run that uses it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from aion_actors.core import ConfigError
from aion_actors.runtime.rates import Rate, rate_of
from aion_actors.runtime.timeouts import check_timeout

T = TypeVar("T")


def definition_name(kind: str, name: object, fn: Callable[..., Any]) -> str:
    """The name a `@workflow`/`@activity` (`kind`) registers `fn` under: `name`, or the
    function's own name when `name` is None."""
    if name is None:
        return str(getattr(fn, "__name__", fn))
    if not isinstance(name, str) or not name:
        where = getattr(fn, "__qualname__", repr(fn))
        raise ConfigError(
            f"{kind} {where}: name={name!r} must be a non-empty str, or None for the "
            "function's own name"
        )
    return name


def instance_or_none(label: str, option: str, value: object, cls: type[T]) -> T | None:
    """`value` if it is a `cls` (or None, for the default)."""
    if value is None or isinstance(value, cls):
        return value
    raise ConfigError(
        f"{label}: {option} must be a {cls.__name__}(...), or None for the default; got "
        f"{type(value).__name__} {value!r}"
    )


def seconds_or_none(label: str, option: str, value: object) -> float | None:
    """`value` as seconds > 0 (None: no limit)."""
    try:
        return check_timeout(value, f"{label}: {option}")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def grace_seconds(label: str, option: str, value: object) -> float:
    """`value` as a finite number of seconds >= 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (math.isfinite(value) and value >= 0)
    ):
        raise ConfigError(
            f"{label}: {option} must be a finite number of seconds >= 0, got "
            f"{type(value).__name__} {value!r}"
        )
    return float(value)


def choice(label: str, option: str, value: T, allowed: Sequence[T]) -> T:
    """`value` if it is one of `allowed`."""
    if value not in allowed:
        raise ConfigError(f"{label}: {option} must be one of {tuple(allowed)}, got {value!r}")
    return value


def bound_or_none(label: str, option: str, value: object) -> int | None:
    """`value` as an int >= 1 (None: no bound)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{label}: {option}={value!r} must be an int >= 1, or None for no bound")
    return value


def rate_or_none(label: str, value: object) -> Rate | None:
    """`value` as a `Rate` (None: no rate limit)."""
    try:
        return rate_of(value, f"{label}: rate")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def exception_types(label: str, option: str, value: object) -> tuple[type[BaseException], ...]:
    """`value` as a tuple of exception types (one type alone counts as a tuple of it)."""
    if isinstance(value, type) and issubclass(value, BaseException):
        return (value,)
    if isinstance(value, tuple | list) and all(
        isinstance(t, type) and issubclass(t, BaseException) for t in value
    ):
        return tuple(value)
    raise ConfigError(f"{label}: {option} must be a tuple of exception types, got {value!r}")
