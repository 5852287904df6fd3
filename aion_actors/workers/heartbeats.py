"""Heartbeats on their way out of an attempt: checked, throttled, and the last one kept.

An activity may call `current_attempt().heartbeat()` in a tight loop; what
leaves the attempt is throttled here. Two intervals, both per attempt:

- forwarding (a worker process to its pool, which restarts the attempt's
  heartbeat clock): at most one per `heartbeat_timeout / 2`, so an activity
  that beats more often than its timeout never times out; 1 s without a
  heartbeat timeout. Threads need none: a heartbeat there is a store to memory.
- recording (an `ActivityHeartbeat` event in the run's history): at most one
  per `max(1 s, heartbeat_timeout / 2)`, and only for new details, so history
  grows by at most one event a second per running attempt.

Details held back by a throttle are not lost when the attempt fails: the
worker sends its last details before its result, and the engine records
them together with the attempt's failure, so the next attempt gets them.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from aion_actors.core import PayloadError, check_payload

#: no two heartbeats of one attempt are recorded closer than this (seconds)
MIN_RECORD_INTERVAL = 1.0
_NOTHING = object()


def record_interval(heartbeat_timeout: float | None) -> float:
    """Seconds between two recorded heartbeats of one attempt: max(1 s, timeout / 2)."""
    return max(MIN_RECORD_INTERVAL, (heartbeat_timeout or 0.0) / 2)


def forward_interval(heartbeat_timeout: float | None) -> float:
    """Seconds between two heartbeats a worker process sends its pool."""
    return heartbeat_timeout / 2 if heartbeat_timeout else MIN_RECORD_INTERVAL


def check_details(details: Any, activity: str, max_bytes: int) -> None:
    """Refuse details that could not be recorded, naming the activity."""
    if details is None:
        return
    try:
        check_payload(details, "details", max_bytes=max_bytes)
    except PayloadError as exc:
        raise PayloadError(
            exc.path,
            f"{exc.problem} (heartbeat details of activity {activity!r}; use msgpack "
            "values under the payload limit, such as a cursor or a count)",
        ) from None


class Throttle:
    """Lets through one offer per `interval`; keeps the last details held back.

    Thread-safe: a thread executor's activity thread offers while its
    deadline watcher may take what is held back.
    """

    __slots__ = ("_held", "_interval", "_last", "_lock")

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._last = -float("inf")
        self._held: Any = _NOTHING
        self._lock = threading.Lock()

    def offer(self, details: Any) -> tuple[bool, Any]:
        """Whether this heartbeat goes out now, and with which details: its own, or
        (given None) those held back. If it does not go out, its details are held back."""
        now = time.monotonic()
        with self._lock:
            if now - self._last >= self._interval:
                self._last = now
                if details is None and self._held is not _NOTHING:
                    details = self._held
                self._held = _NOTHING
                return True, details
            if details is not None:
                self._held = details
            return False, None

    def take_held(self) -> Any:
        """The details held back since the last heartbeat that went out (None: none)."""
        with self._lock:
            held, self._held = self._held, _NOTHING
        return None if held is _NOTHING else held
