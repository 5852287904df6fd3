"""A run's history as a timeline: lanes of bars (the run, each activity's attempts, each
timer, each child) and marks (signals, crashes, restarts, parks), placed in percent of the
run's span so a template draws them with plain CSS.

Everything here is read from the history alone: the page shows the durable truth.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from aion_actors.cli._events import clock
from aion_actors.core import Event, TimerId, TimerKind
from aion_actors.core import events as ev

#: the narrowest bar drawn, in percent of the span, so an instant stays visible
_MIN_WIDTH = 0.6


@dataclass(frozen=True, slots=True)
class Bar:
    """One stretch of a lane: `start`..`end` (unix ns; end None: still going)."""

    start: int
    end: int | None
    label: str
    #: how it went: ok, failed, retry (a failed attempt that is retried), backoff, open
    state: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Mark:
    """An instant: a signal, a crash, a restart, a park, a resume."""

    at: int
    kind: str
    label: str
    seq: int


@dataclass(frozen=True, slots=True)
class Lane:
    kind: str  # run, activity, timer, child, signals
    label: str
    bars: tuple[Bar, ...] = ()
    marks: tuple[Mark, ...] = ()
    #: the workflow_id a child lane links to
    link: str | None = None


@dataclass(frozen=True, slots=True)
class Timeline:
    start: int
    end: int
    lanes: tuple[Lane, ...]
    crashes: int = 0
    restarts: int = 0
    attempts_failed: int = 0
    marks: tuple[Mark, ...] = field(default=())

    def left(self, at: int) -> float:
        """Where `at` sits, in percent of the span."""
        span = max(1, self.end - self.start)
        return round(min(100.0, max(0.0, (at - self.start) * 100 / span)), 3)

    def width(self, bar: Bar) -> float:
        """How wide `bar` is drawn, in percent of the span (at least a sliver)."""
        end = self.end if bar.end is None else bar.end
        left = self.left(bar.start)
        return round(max(_MIN_WIDTH, min(100.0 - left, self.left(end) - left)), 3)


def _error(error: dict[str, str] | None) -> str:
    if not error:
        return ""
    return f"{error.get('type', 'Error')}: {error.get('message', '')}"


class _Builder:
    """Walks the history once, opening and closing bars."""

    def __init__(self, now: int) -> None:
        self.now = now
        self.activities: dict[str, tuple[str, list[Bar]]] = {}
        self.open_attempt: dict[str, tuple[int, int]] = {}  # activity_id -> (start, attempt)
        self.timers: dict[str, tuple[str, list[Bar]]] = {}
        self.children: dict[str, tuple[str, list[Bar]]] = {}
        self.run_marks: list[Mark] = []
        self.signal_marks: list[Mark] = []
        self.crashes = self.restarts = self.failed_attempts = 0

    def add(self, event: Event) -> None:
        at = event.recorded_at
        match event:
            case ev.ActivityScheduled():
                lane = self.activities.setdefault(
                    event.activity_id, (f"#{event.activity_id} {event.name}", [])
                )
                self._close_backoff(lane[1], at)
                self.open_attempt[event.activity_id] = (at, event.attempt)
            case ev.ActivityCompleted():
                self._close(event.activity_id, at, "ok", "completed")
            case ev.ActivityAttemptFailed():
                self.failed_attempts += 1
                retried = event.retry_at is not None
                self._close(event.activity_id, at, "retry" if retried else "failed", "")
                retried_lane = self.activities.get(event.activity_id)
                if retried_lane is not None and retried_lane[1] and event.retry_at is not None:
                    bars = retried_lane[1]
                    bars[-1] = dataclasses.replace(bars[-1], detail=_error(event.error))
                    bars.append(Bar(at, event.retry_at, "backoff", "backoff", "waits to retry"))
            case ev.ActivityFailed():
                self._close(event.activity_id, at, "failed", _error(event.error))
            case ev.TimerStarted():
                timer = TimerId.parse(event.timer_id)
                label = (
                    f"signal {timer.name!r} timeout"
                    if timer.kind is TimerKind.SIGNAL
                    else f"timer {event.timer_id}"
                )
                self.timers[event.timer_id] = (
                    label,
                    [Bar(at, None, label, "open", f"fires at {clock(event.fire_at)}")],
                )
            case ev.TimerFired() | ev.TimerCancelled():
                if event.timer_id in self.timers:
                    label, bars = self.timers[event.timer_id]
                    fired = isinstance(event, ev.TimerFired)
                    state = "ok" if fired else "cancelled"
                    bars[-1] = Bar(bars[-1].start, at, label, state, "fired" if fired else state)
            case ev.ChildStarted():
                label = f"child {event.workflow_type} {event.child_workflow_id}"
                self.children[event.child_workflow_id] = (label, [Bar(at, None, label, "open")])
            case ev.ChildCompleted() | ev.ChildFailed():
                if event.child_workflow_id in self.children:
                    label, bars = self.children[event.child_workflow_id]
                    failed = isinstance(event, ev.ChildFailed)
                    detail = _error(event.error) if isinstance(event, ev.ChildFailed) else ""
                    state = "failed" if failed else "ok"
                    bars[-1] = Bar(bars[-1].start, at, label, state, detail)
            case ev.SignalReceived():
                self.signal_marks.append(Mark(at, "signal", f"signal {event.name}", event.seq))
            case ev.UpdateAccepted():
                self.signal_marks.append(Mark(at, "signal", f"update {event.name}", event.seq))
            case ev.RunCrashed():
                self.crashes += 1
                label = f"crash: pid {event.pid} {_error(event.error)}"
                self.run_marks.append(Mark(at, "crash", label, event.seq))
            case ev.RunRestarted():
                self.restarts += 1
                label = f"restart #{event.attempt} as pid {event.pid}"
                self.run_marks.append(Mark(at, "restart", label, event.seq))
            case ev.RunParked():
                self.run_marks.append(Mark(at, "park", f"parked: {event.reason}", event.seq))
            case ev.RunResumed() | ev.RunPaused() | ev.RunUnpaused():
                label = event.kind.removeprefix("Run").lower()
                self.run_marks.append(Mark(at, "resume", label, event.seq))

    def _close(self, activity_id: str, at: int, state: str, detail: str) -> None:
        opened = self.open_attempt.pop(activity_id, None)
        if opened is None or activity_id not in self.activities:
            return
        start, attempt = opened
        self.activities[activity_id][1].append(Bar(start, at, f"attempt {attempt}", state, detail))

    def _close_backoff(self, bars: list[Bar], at: int) -> None:
        if bars and bars[-1].state == "backoff":
            bars[-1] = Bar(bars[-1].start, at, "backoff", "backoff", bars[-1].detail)

    def lanes(self, run_bar: Bar) -> list[Lane]:
        for activity_id, (start, attempt) in self.open_attempt.items():
            label = f"attempt {attempt}"
            self.activities[activity_id][1].append(Bar(start, None, label, "open", "running"))
        lanes = [Lane("run", "run", (run_bar,), tuple(self.run_marks))]
        lanes += [Lane("activity", label, tuple(bars)) for label, bars in self.activities.values()]
        lanes += [Lane("timer", label, tuple(bars)) for label, bars in self.timers.values()]
        lanes += [
            Lane("child", label, tuple(bars), link=child_id)
            for child_id, (label, bars) in self.children.items()
        ]
        if self.signal_marks:
            lanes.append(Lane("signals", "signals", (), tuple(self.signal_marks)))
        return lanes


def timeline(events: Sequence[Event], status: str, now: int) -> Timeline:
    """The timeline of a run's `events`; an open run's bars reach `now`."""
    if not events:
        return Timeline(now, now, ())
    builder = _Builder(now)
    for event in events:
        builder.add(event)
    start = events[0].recorded_at
    closed = events[-1].lifecycle and not isinstance(events[-1], ev.HOLDS_OPEN)
    end = events[-1].recorded_at if closed else max(now, events[-1].recorded_at)
    run_bar = Bar(start, end if closed else None, status, status)
    lanes = builder.lanes(run_bar)
    return Timeline(
        start,
        max(end, start + 1),
        tuple(lanes),
        crashes=builder.crashes,
        restarts=builder.restarts,
        attempts_failed=builder.failed_attempts,
        marks=tuple(builder.run_marks),
    )
