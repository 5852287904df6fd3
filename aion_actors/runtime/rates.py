"""Rate limits: `Rate` (at most `limit` starts per `per` seconds) and its sliding `Window`.

The algorithm is a sliding window log, not a token bucket: a start is let
go at instant `t` only if fewer than `limit` starts lie in `(t - per, t]`,
so **no window of `per` seconds ever holds more than `limit` starts** —
the promise a demanding user reads in `rate=(20, 1.0)`. A token bucket
would let a full bucket's burst follow a window's worth of steady starts.

A start is counted from the moment it is granted: `grant` holds its place
(as if it happened in the future, so it blocks) until `started(at)` gives
the time it took effect (the caller reads its clock after the start's
commit, so `at` is never earlier than the time recorded in history), or
`withdraw` gives the place back. So the times a history records keep the
promise, whatever the delay between granting and recording.

Pure bookkeeping under the caller's lock: no threads, no store.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from aion_actors.core.durations import LONGEST_PERIOD, LONGEST_PERIOD_TEXT

__all__ = ["Rate", "Window", "rate_of"]


@dataclass(frozen=True, slots=True)
class Rate:
    """At most `limit` starts in any window of `per` seconds."""

    limit: int
    per: float

    @property
    def per_ns(self) -> int:
        return int(self.per * 1_000_000_000)


def rate_of(value: Any, what: str) -> Rate | None:
    """`value` as a `Rate`: None, a `Rate`, or a `(limit, per_seconds)` pair; `ValueError`
    naming `what` (e.g. "Queue('payments') rate") otherwise."""
    if value is None:
        return None
    pair = (value.limit, value.per) if isinstance(value, Rate) else value  # a Rate is checked too
    if isinstance(pair, tuple | list) and len(pair) == 2:
        limit, per = pair
        limit_ok = isinstance(limit, int) and not isinstance(limit, bool) and limit >= 1
        per_ok = (
            isinstance(per, int | float)
            and not isinstance(per, bool)
            and 0 < per <= LONGEST_PERIOD  # (not NaN; infinity is past it)
        )
        if limit_ok and per_ok:
            return Rate(limit, float(per))
    raise ValueError(
        f"{what}={value!r} must be (limit, seconds): a whole number of starts >= 1 per a "
        f"window of seconds > 0 and at most {LONGEST_PERIOD_TEXT}, e.g. (20, 1.0) for at "
        "most 20 in any second; or None for no rate limit"
    )


class Window:
    """The starts of one rate-limited thing, and when the next one may go."""

    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        #: the latest `limit` start times (unix ns), ascending
        self._starts: list[int] = []
        #: starts granted whose time is not known yet (each blocks as if it were now)
        self.pending = 0

    def _recent(self, now: int) -> int:
        """How many known starts lie in `(now - per, now]`."""
        return len(self._starts) - bisect.bisect_right(self._starts, now - self.rate.per_ns)

    def admits(self, now: int) -> bool:
        """Whether one more start may go at `now`."""
        return self.pending + self._recent(now) < self.rate.limit

    def grant(self) -> None:
        """A start goes now; its time follows with `started` (or `withdraw`)."""
        self.pending += 1

    def started(self, at: int) -> None:
        """A granted start took effect at `at` (not earlier than its recorded time)."""
        self.pending = max(0, self.pending - 1)
        self.add(at)

    def withdraw(self) -> None:
        """A granted start did not happen: its place is free."""
        self.pending = max(0, self.pending - 1)

    def add(self, at: int) -> None:
        """A start known to have happened at `at` (from history, after a restart)."""
        bisect.insort(self._starts, at)
        if len(self._starts) > self.rate.limit:
            del self._starts[: len(self._starts) - self.rate.limit]

    def next_at(self, now: int) -> int | None:
        """The instant the next start may go (`now` if it may now); None while granted
        starts alone fill the window (the first `started` or `withdraw` decides)."""
        room = self.rate.limit - self.pending  # known starts the window may hold, plus one
        if room <= 0:
            return None
        recent = self._starts[len(self._starts) - self._recent(now) :]
        if len(recent) < room:
            return now
        # the oldest starts must leave until only room - 1 are left
        return recent[len(recent) - room] + self.rate.per_ns

    def renew(self, rate: Rate) -> Window:
        """This window under a new rate, keeping what it knows."""
        window = Window(rate)
        window.pending = self.pending
        for at in self._starts:
            window.add(at)
        return window
