"""Workflow timeouts: what a start is given, what each run records, and what ends it.

`execution_timeout` bounds every run of a workflow_id chain: its deadline is
fixed when the first run starts and carried unchanged into each
continue-as-new run. `run_timeout` bounds one run: each run (a continued
one too) gets a fresh deadline from it. Both are recorded in the run's
`WorkflowStarted`, whose projection puts them in the timer index in the
same transaction; when one is due the run is closed with `WorkflowTimedOut`,
as `terminate` closes it (no more workflow code runs).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aion_actors.core import AionError, RunKey, TimerId, TimerKind, WorkflowTimeout
from aion_actors.core import events as ev
from aion_actors.core.durations import LAST_NS
from aion_actors.runtime import messages as msg
from aion_actors.store import EventStore

log = logging.getLogger("aion_actors.runtime")

_NS = 1_000_000_000


def at_after(now_ns: int, seconds: float) -> int:
    """`seconds` after `now_ns` (unix ns), or `LAST_NS` (the last instant a store records:
    in effect never) if that is later (infinity too)."""
    return now_ns + int(seconds * _NS) if seconds < (LAST_NS - now_ns) / _NS else LAST_NS


def wait_seconds(timeout: float | timedelta | None, what: str) -> float | None:
    """A timeout a workflow waits with, in seconds (None: none); a `ValueError` naming
    `what` unless it is a number >= 0 or a timedelta."""
    return None if timeout is None else _seconds(timeout, what, negative=False)


def sleep_seconds(duration: float | timedelta, what: str) -> float:
    """`ctx.sleep`'s duration in seconds; less than 0 counts as 0 (as `asyncio.sleep` has
    it). A `ValueError` naming `what` unless it is a number or a timedelta."""
    return max(0.0, _seconds(duration, what, negative=True))


def _seconds(value: float | timedelta, what: str, *, negative: bool) -> float:
    """`value` in seconds: a number (not NaN, not a bool; < 0 only if `negative`) or a
    timedelta; else a `ValueError` naming `what`."""
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if not _is_number(value) or math.isnan(value) or (value < 0 and not negative):
        least = "" if negative else " >= 0"
        raise ValueError(f"{what} must be a number of seconds{least} or a timedelta, got {value!r}")
    return float(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_timeout(value: Any, name: str) -> float | None:
    """`value` as seconds (None: no timeout); a `ValueError` naming `name` unless it is a
    finite number > 0 or a `timedelta` that long (as every duration of the API)."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if not _is_number(value):
        raise ValueError(
            f"{name} must be a number of seconds > 0 or a timedelta (or None for no "
            f"timeout), got {type(value).__name__} {value!r}"
        )
    if not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"{name} must be a number of seconds > 0 or a timedelta (or None for no "
            f"timeout), got {value!r}"
        )
    return float(value)


def call_timeout(value: Any, verb: str) -> float | None:
    """How long a client call (`signal`, `result`, ...) waits: `check_timeout`'s rule, the
    same on every verb of `Engine`, `AsyncEngine` and their handles, checked before the
    call records anything. A `ValueError` naming `verb` unless None (wait for ever) or a
    finite number > 0; infinity is refused, as for `run_timeout`: None says "for ever"."""
    return check_timeout(value, f"{verb}'s timeout")


@dataclass(frozen=True, slots=True)
class Timeouts:
    """A run's timeouts, as its start is given them."""

    #: when the workflow_id chain must have ended (unix ns), fixed by an earlier run
    #: (or a parent's command); None: from `execution_timeout`, or never
    execution_deadline: int | None = None
    #: how long each run may take (seconds), None: unbounded
    run_timeout: float | None = None
    #: how long the chain may take from this (first) run's start (seconds)
    execution_timeout: float | None = None

    @classmethod
    def given(cls, execution_timeout: Any, run_timeout: Any) -> Timeouts:
        """The timeouts a caller gives a first run, checked."""
        execution = check_timeout(execution_timeout, "execution_timeout")
        run = check_timeout(run_timeout, "run_timeout")
        return cls(run_timeout=run, execution_timeout=execution)

    @classmethod
    def carried(cls, started: ev.Event | None) -> Timeouts:
        """What a continue-as-new successor of the run that `started` opened inherits."""
        if not isinstance(started, ev.WorkflowStarted):
            return NO_TIMEOUTS
        return cls(started.execution_deadline, started.run_timeout)

    @classmethod
    def of_child(cls, started: ev.ChildStarted) -> Timeouts:
        return cls(started.execution_deadline, started.run_timeout)

    def deadlines(self, now_ns: int) -> tuple[int | None, int | None]:
        """The execution and run deadlines of a run that starts at `now_ns`."""
        execution = self.execution_deadline
        if execution is None and self.execution_timeout is not None:
            execution = at_after(now_ns, self.execution_timeout)
        run = None if self.run_timeout is None else at_after(now_ns, self.run_timeout)
        return execution, run


NO_TIMEOUTS = Timeouts()


def deadline(started: ev.Event) -> int | None:
    """When the run that `started` opened times out (unix ns), None if never (or if
    `started` is no `WorkflowStarted`)."""
    if not isinstance(started, ev.WorkflowStarted):
        return None
    deadlines = [d for d in (started.execution_deadline, started.run_deadline) if d is not None]
    return min(deadlines, default=None)


def past_deadline(started: ev.Event, now_ns: int) -> bool:
    """Whether the run that `started` opened should have timed out by `now_ns`."""
    at = deadline(started)
    return at is not None and at <= now_ns


def is_timeout(timer: TimerId) -> bool:
    return timer.kind is TimerKind.TIMEOUT


def timed_out(timer: TimerId, fire_at: int | None) -> msg.TimeoutRequest:
    """The request that closes a run whose `timeout:` timer is due."""
    which = WorkflowTimeout(timer.ref)
    when = "" if fire_at is None else f" at {_iso(fire_at)}"
    reason = f"its {which.value}_timeout ran out{when}"
    return msg.TimeoutRequest(reason, msg.Ack(), which.value)


def opening(store: EventStore, key: RunKey) -> ev.Event | None:
    """Run `key`'s first event, whose timeouts (and memo) its continue-as-new successor
    inherits; None when it cannot be read (the successor starts without them)."""
    try:
        first = store.read(*key, until=1)
    except AionError as exc:  # its successor starts without them rather than not at all
        log.error("run %s: its start cannot be read (%s); its successor inherits none", key, exc)
        return None
    return first[0] if first else None


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / _NS, tz=UTC).isoformat(timespec="milliseconds")
