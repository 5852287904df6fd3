"""Points in time as people type them on a command line: ISO dates and times, or ages."""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

from aion_actors.core import AionError
from aion_actors.store._search import LATEST, to_ns

_AGE: Final = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_EXPECTED: Final = (
    "expected an ISO date (2025-01-31, midnight local time), a date and time "
    "(2025-01-31T14:30, local time unless it ends with Z or an offset like +02:00) "
    "or an age (45s, 30m, 12h, 7d, 2w)"
)
#: the times a run search takes (`to_ns`), as the error names them
_RANGE: Final = f"from 1970-01-01 to {dt.datetime.fromtimestamp(LATEST, dt.UTC):%Y-%m-%d} UTC"


class UsageError(AionError):
    """A command line argument is out of range or malformed."""


def parse_when(text: str, option: str, now_ns: int) -> int:
    """`text` as unix ns; an age counts back from `now_ns`. `option` names it in errors,
    which a time that is no time, or one outside the times a search takes, raises."""
    moment = _moment(text, option, now_ns)
    try:
        if isinstance(moment, dt.datetime) and moment.tzinfo is None:
            moment = moment.astimezone()  # naive: local time, as the listings show it
        ns = to_ns(moment, option)
    except (ValueError, OverflowError):  # year 0, year 10000, before 1970, after 2262
        raise UsageError(f"{option} {text!r}: not a time {_RANGE}; {_EXPECTED}") from None
    assert ns is not None
    return ns


def _moment(text: str, option: str, now_ns: int) -> dt.datetime | float:
    """An age as unix seconds, else the (maybe naive) date and time `text` reads as."""
    value = text.strip()
    age = _AGE.fullmatch(value)
    if age is not None:
        return now_ns / 1e9 - float(age.group(1)) * _UNIT_SECONDS[age.group(2)]
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError as exc:
        why = f" ({exc})" if re.match(r"\d{4}-", value) else ""
        raise UsageError(f"{option} {text!r}: not a time{why}; {_EXPECTED}") from None
