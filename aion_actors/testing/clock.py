"""`VirtualClock`: engine time that moves only when told, or when nothing else can happen.

It stands in for the wall clock (`aion_actors.runtime.clock.Clock`), so
everything the engine records — `recorded_at`, hence `ctx.now()`, timer fire
times, retry times, timeouts — reads virtual time. It moves in two ways:

- `advance(delta)` moves it forward, stopping at each timer due on the way
  and letting the engine settle there (so a timer that fires sets its next
  one as it would have in real time), and returns once the engine is quiet at
  `now + delta`;
- while a caller waits for a run to end (`engine.result()`, `handle.result()`),
  the engine is quiet (`aion_actors.runtime.quiet`: no activity running, no
  message on its way, nothing due) and time can move that run on (it, or a
  child it started, has a timer, it waits in a queue for a slot, or a rate
  holds calls back: `Quietness.waits_on_time`, `alarm`), it jumps to the
  next due timer — every timer fires on the way, each at its own time. So a
  30-day sleep ends in milliseconds, while a running activity holds time
  still, and a run that waits only for a signal leaves the clock (and other
  runs' timers) alone.
  Outside such a wait, time stands still unless advanced: a test can start a
  run, advance a few days, signal it, then wait for its result.

An `Alarm` (a queue's rate limit) tells the clock of itself (`alarm`): its
armed instant is a stop like a timer's, the engine is not quiet while one of
its calls is due or running, and it is woken (`wake`) each time time moves.

Nobody polls: the timer service sleeps on its condition until told; the parts
of the engine that finish work call `settled()`, which jumps (or wakes an
`advance`) only when the engine is quiet.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator

from aion_actors.core.durations import LAST_NS
from aion_actors.runtime.clock import Alarmed, Quietness
from aion_actors.runtime.timeouts import wait_seconds

#: the timer service's "no timer at all"
_NO_TIMER = 1 << 61
_WHAT = "clock.advance()"


def _target(now_ns: int, delta: dt.timedelta | float) -> int:
    """`delta` after `now_ns` (unix ns); a `ValueError` naming `clock.advance()` unless
    `delta` is a finite duration >= 0 that ends by `LAST_NS`."""
    seconds = wait_seconds(delta, _WHAT)
    if seconds is None:  # None is no duration here: "no timeout" means nothing to advance
        raise ValueError(f"{_WHAT} must be a number of seconds >= 0 or a timedelta, got None")
    if not math.isfinite(seconds):
        raise ValueError(
            f"{_WHAT} must be a finite number of seconds >= 0 or a timedelta, got {delta!r}"
            "; time cannot move on forever (a run being waited for jumps to its timers)"
        )
    if seconds > (LAST_NS - now_ns) / 1e9:
        raise ValueError(
            f"{_WHAT} by {delta!r} would move the clock past the last instant the stores "
            "keep (2**64-1 ns, in the year 2554)"
        )
    return now_ns + int(seconds * 1e9)


class VirtualClock:
    def __init__(self, start: dt.datetime | None = None) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError(
                f"VirtualClock(start={start!r}) needs an aware datetime (e.g. tzinfo=UTC)"
            )
        self._now = time.time_ns() if start is None else int(start.timestamp() * 1e9)
        #: guards everything below; `advance` waits on it for the engine to be quiet
        self._cond = threading.Condition(threading.Lock())
        #: the timer service, while it sleeps: its condition and when it wants to wake
        self._sleeper: tuple[threading.Condition, int] | None = None
        self._engine: Quietness | None = None
        #: the workflow_ids callers wait on to end: time skips by itself for their timers
        self._waited: Counter[str] = Counter()
        #: the engine's alarms (rate limits): their instants are stops too
        self._alarms: list[Alarmed] = []

    # -- what tests use

    def now_ns(self) -> int:
        return self._now

    def now(self) -> dt.datetime:
        """Virtual now, in UTC."""
        return dt.datetime.fromtimestamp(self._now / 1e9, tz=dt.UTC)

    def advance(self, delta: dt.timedelta | float, *, timeout: float = 30.0) -> None:
        """Move time forward by `delta` (a timedelta or seconds), firing exactly the timers
        due by then, each at its own time; returns once the engine is quiet again.

        `delta` follows the rule of every duration (README "Durations"): seconds or a
        timedelta, >= 0; a string, a bool, NaN or infinity is a `ValueError` naming
        `clock.advance()`, and so is a move past the last instant the stores keep.

        Raises `TimeoutError` if the engine is not quiet within `timeout` seconds of
        real time (an activity that does not return, say)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = _target(self._now, delta)
        while True:
            with self._cond:
                sleeper = self._settled_sleeper(deadline)
                if sleeper is None or sleeper[1] > target:
                    self._now = max(self._now, target)
                    return
                self._now = max(self._now, sleeper[1])
                self._sleeper = None
            _wake(sleeper[0])
            self._wake_alarms()

    # -- what the engine uses (`Clock`)

    def wait(self, cond: threading.Condition, until_ns: int) -> None:
        with self._cond:
            if until_ns <= self._now:
                return
            self._sleeper = (cond, until_ns)
            self._cond.notify_all()
            jumped = self._jump() is not None
        if jumped:  # `cond` is ours already: no need to wait
            self._wake_alarms()
            return
        cond.wait()
        with self._cond:
            if self._sleeper is not None and self._sleeper[0] is cond:
                self._sleeper = None

    def watch(self, engine: Quietness) -> None:
        self._engine = engine

    def settled(self) -> None:
        with self._cond:
            self._cond.notify_all()
            woken = self._jump()
        if woken is not None:
            _wake(woken)
            self._wake_alarms()

    def alarm(self, alarm: Alarmed) -> bool:
        with self._cond:
            self._alarms.append(alarm)
        return True

    @contextlib.contextmanager
    def waiting(self, workflow_id: str) -> Iterator[None]:
        with self._cond:
            self._waited[workflow_id] += 1
        self.settled()
        try:
            yield
        finally:
            with self._cond:
                self._waited[workflow_id] -= 1
                if not self._waited[workflow_id]:
                    del self._waited[workflow_id]

    # -- helpers, holding `_cond`

    def _jump(self) -> threading.Condition | None:
        """While someone waits for a run that time can move on and the engine is quiet,
        jump to the sleeping timer service's wake time; the condition to wake it by, if
        jumped. While a rate holds calls back (an alarm is armed), time moves on for
        whoever waits: which run a rate holds up is not known here."""
        if not self._waited or (sleeper := self._next_stop()) is None:
            return None
        cond, at = sleeper
        if at <= self._now or at >= _NO_TIMER:
            return None
        engine = self._engine
        alarmed = any(a.next_at is not None for a in self._alarms)
        if not alarmed and engine is not None and not engine.waits_on_time(list(self._waited)):
            return None
        self._now, self._sleeper = at, None
        return cond

    def _next_stop(self) -> tuple[threading.Condition, int] | None:
        """If the engine is quiet and the timer service sleeps: its condition, and the
        earliest durable timer (from the store: one armed since the service fell asleep
        counts, and the service's own re-reporting times do not)."""
        sleeper, engine = self._sleeper, self._engine
        if sleeper is None or engine is None or any(a.busy for a in self._alarms):
            return None
        if not engine.is_quiet():
            return None
        first = engine.next_timer()
        stops = [first] if first is not None else []
        stops += [at for a in self._alarms if (at := a.next_at) is not None]
        return sleeper[0], min(stops, default=_NO_TIMER)

    def _settled_sleeper(self, deadline: float) -> tuple[threading.Condition, int] | None:
        """Wait until the engine is quiet and the timer service sleeps; its sleep."""
        while True:
            if (sleeper := self._next_stop()) is not None:
                return sleeper if sleeper[1] < _NO_TIMER else None
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(
                    "clock.advance: the engine did not become quiet (an activity still "
                    "runs, or a run is busy); give advance(timeout=) more time"
                )
            self._cond.wait(left)

    def _wake_alarms(self) -> None:
        """Time moved: each alarm looks at what is due (not holding `_cond`)."""
        with self._cond:
            alarms = list(self._alarms)
        for alarm in alarms:
            alarm.wake()


def _wake(cond: threading.Condition) -> None:
    with cond:
        cond.notify_all()
