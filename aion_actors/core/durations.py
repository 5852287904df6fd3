"""Durations as people write them, and a workflow type's retention.

A duration is seconds (an int or float), a `datetime.timedelta`, or a
string of a number and a unit: "90s", "15m", "12h", "30d", "2w". A
retention is a duration or None: keep closed runs forever (the default). A
retention whose end from now lies past `LAST_NS`, the last instant a store
records (year 2554), keeps them forever too: it could never be reached.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
import time
from typing import Final

from aion_actors.core.errors import ConfigError

__all__ = [
    "LAST_NS",
    "LONGEST_PERIOD",
    "LONGEST_PERIOD_TEXT",
    "NOT_GIVEN",
    "DurationSpec",
    "NotGiven",
    "RetentionSpec",
    "format_duration",
    "parse_duration",
    "parse_retention",
]

#: the last instant a deadline, timer or expiry can be recorded for (unix ns: the largest
#: integer msgpack and the stores keep, in the year 2554); a later one is, in effect, never
LAST_NS: Final = 2**64 - 1
#: the longest period a schedule's `every=` and `catchup_window` or a rate's window may span
#: (a century, in seconds): longer than any deployment, and far enough inside `LAST_NS` that
#: every firing and window end it leads to can be recorded (an infinite or larger one could
#: not, and would overflow the waits for it)
LONGEST_PERIOD: Final = 100 * 365.25 * 86_400
#: the bound as error messages state it
LONGEST_PERIOD_TEXT: Final = f"{LONGEST_PERIOD:.0f} s (100 years)"

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


def format_duration(seconds: float) -> str:
    """`seconds` as `parse_duration` reads it back, in the largest unit that divides it:
    "30d", "12h", "90s", "0.2s"."""
    for unit, size in sorted(_UNIT_SECONDS.items(), key=lambda item: -item[1]):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds!r}s"


def parse_retention(value: object, what: str) -> float | None:
    """A retention in seconds, None for "keep forever" (given None, or so long that it
    ends past `LAST_NS`); a `ConfigError` naming `what`."""
    if value is None:
        return None
    try:
        seconds = parse_duration(value, what)
    except ConfigError:
        raise ConfigError(
            f"{what} = {value!r}: expected {ALLOWED}, or None to keep closed runs forever"
        ) from None
    return None if _ends_past_last_instant(seconds) else seconds


def _ends_past_last_instant(seconds: float) -> bool:
    """Whether `seconds` from now ends past `LAST_NS`: a run kept that long is kept for good
    (and its expiry, were it kept as a number, would not fit a store's time or a wait)."""
    return seconds >= (LAST_NS - time.time_ns()) / 1e9
