"""Points in time as people type them on a command line: ISO dates and times, or ages."""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

from aion_actors.core import AionError

_AGE: Final = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_EXPECTED: Final = (
    "expected an ISO date (2025-01-31, midnight local time), a date and time "
    "(2025-01-31T14:30, local time unless it ends with Z or an offset like +02:00) "
    "or an age (45s, 30m, 12h, 7d, 2w)"
)


class UsageError(AionError):
    """A command line argument is out of range or malformed."""


def parse_when(text: str, option: str, now_ns: int) -> int:
    """`text` as unix ns; an age counts back from `now_ns`. `option` names it in errors."""
    value = text.strip()
    age = _AGE.fullmatch(value)
    if age is not None:
        seconds = float(age.group(1)) * _UNIT_SECONDS[age.group(2)]
        return now_ns - int(seconds * 1e9)
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        why = f" ({exc})" if re.match(r"\d{4}-", value) else ""
        raise UsageError(f"{option} {text!r}: not a time{why}; {_EXPECTED}") from None
    if when.tzinfo is None:
        when = when.astimezone()  # naive: local time, as the listings show it
    return int(when.timestamp() * 1e9)
