"""Durations as people write them, and a workflow type's retention.

A duration is seconds (an int or float), a `datetime.timedelta`, or a
string of a number and a unit: "90s", "15m", "12h", "30d", "2w". A
retention is a duration or None: keep closed runs forever (the default).
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from typing import Final

from aion_actors.core.errors import ConfigError

__all__ = [
    "NOT_GIVEN",
    "DurationSpec",
    "NotGiven",
    "RetentionSpec",
    "parse_duration",
    "parse_retention",
]

_DURATION: Final = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
ALLOWED: Final = (
    'seconds (a number > 0), a timedelta, or a string like "90s", "15m", "12h", "30d", "2w"'
)

DurationSpec = int | float | dt.timedelta | str
RetentionSpec = DurationSpec | None


class NotGiven(enum.Enum):
    """The type of `NOT_GIVEN`: a decorator argument left out, as opposed to None."""

    NOT_GIVEN = "not given"


NOT_GIVEN: Final = NotGiven.NOT_GIVEN


def parse_duration(value: object, what: str) -> float:
    """`value` in seconds (> 0); a `ConfigError` naming `what` otherwise."""
    seconds: float | None = None
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.fullmatch(value)) is not None:
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(f"{what} = {value!r}: expected {ALLOWED}")
    return seconds


def parse_retention(value: object, what: str) -> float | None:
    """A retention in seconds, None for "keep forever"; a `ConfigError` naming `what`."""
    if value is None:
        return None
    try:
        return parse_duration(value, what)
    except ConfigError:
        raise ConfigError(
            f"{what} = {value!r}: expected {ALLOWED}, or None to keep closed runs forever"
        ) from None
