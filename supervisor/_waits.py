"""Thread waits of any length.

`Condition.wait`, `Event.wait` and `Lock.acquire(timeout=)` raise `OverflowError` for a
timeout past `threading.TIMEOUT_MAX` (about 292 years on Linux), and a background thread
that raises it dies: whatever it served stops for good. A timeout computed from a
user's duration or a far-future deadline can be that long, so each such wait goes
through here. `bounded` cuts one wait to `LONGEST_WAIT` for a loop that recomputes what
it waits for when it wakes (it wakes once a day at most: no polling); `wait_long` keeps
a bool-returning wait's meaning, however long its timeout, by waiting in such steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

__all__ = ["LONGEST_WAIT", "bounded", "wait_long"]

#: the longest single wait (a day): far under `threading.TIMEOUT_MAX` on every platform
LONGEST_WAIT: Final = 86_400.0


def bounded(seconds: float | None) -> float | None:
    """`seconds` (None: untimed) cut to `LONGEST_WAIT`; NaN and infinity are cut too."""
    if seconds is None or seconds < LONGEST_WAIT:
        return seconds
    return LONGEST_WAIT


def wait_long(wait: Callable[[float | None], bool], timeout: float | None) -> bool:
    """`wait(timeout)` (an `Event`'s, a `Latch`'s: True once what it waits for came), for
    any `timeout`: one wait when it is short, else waits of at most `LONGEST_WAIT`."""
    if timeout is None or timeout <= LONGEST_WAIT:
        return wait(timeout)
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= LONGEST_WAIT:
            return wait(max(left, 0.0))
        if wait(LONGEST_WAIT):
            return True
