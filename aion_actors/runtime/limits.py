"""`ActivityLimits`: `@activity(concurrency=, rate=)` in front of the executors.

An activity with limits has a `Gate`: its attempts in flight (handed to an
executor, no outcome yet) and the sliding window of its hand-offs (see
`rates`). An attempt that finds no room waits here, in arrival order — its
`ActivityScheduled` is recorded, it has not started — and goes when room
comes: woken by the outcome of an attempt of the same activity (a slot), or
by the alarm armed for the exact instant the window admits the next.
Nobody polls. Retries are attempts like any other: each one waits and
counts.

What the wait counts against: an attempt's own `@activity(timeout=)`
(start-to-close) starts when the executor starts it, so the wait here eats
none of it; `ctx.activity(timeout=)` (schedule-to-close) bounds the whole
activity from its scheduling, waits included — an attempt whose deadline
passed while it waited is not run (its run has recorded the timeout). A
cancel reaching a waiting attempt ends it as `ActivityCancelled` unrun.

The limits are this engine's: they hold across all its runs, measured by
the engine's clock (the wall clock; a `TestEngine`'s virtual one, whose
jumps stop at the rate's alarm as at a timer). The window counts hand-offs
to the executor; an executor short of workers only delays starts further.
A restarted engine reads the window's starts back from history before an
activity's first attempt (`limit_history`), so a restart grants no fresh
window. Attempts held back by the rate alone wait on time, like a timer:
`held_for_time` counts them, so a virtual clock may jump (`Attempts.busy`).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aion_actors.core import EngineClosed
from aion_actors.runtime.alarm import Alarm
from aion_actors.runtime.clock import SYSTEM_CLOCK, Clock
from aion_actors.runtime.definitions import ActivityDefinition
from aion_actors.runtime.rates import Window
from aion_actors.workers.errors import ActivityCancelled, CancelReason, ExecutorClosed
from aion_actors.workers.task import AttemptKey, Outcome, Task, failure

Done = Callable[[Outcome], None]
Beat = Callable[[Any], None] | None
Submit = Callable[[ActivityDefinition[Any, Any], Task, Done, Beat], None]
#: (activity name, since, born) -> when its calls since `since` scheduled before `born` (the
#: engine's start) were handed off, at the latest (unix ns; see `limit_history`)
Recent = Callable[[str, int, int], list[int]]


@dataclass(slots=True)
class _Waiting:
    definition: ActivityDefinition[Any, Any]
    task: Task
    done: Done
    beat: Beat
    deadline: int | None


def _run_of(waiting: _Waiting) -> tuple[str, str]:
    return waiting.task.attempt.workflow_id, waiting.task.attempt.run_id


@dataclass(slots=True)
class Gate:
    """One limited activity: its attempts in flight, its window and who waits."""

    concurrency: int | None
    window: Window | None
    running: int = 0
    waiting: collections.deque[_Waiting] = field(default_factory=collections.deque)
    #: whether its waiting attempts wait for the rate's alarm alone
    timed: bool = False
    #: how many of the waiting attempts each run has, by (workflow_id, run_id)
    runs: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)

    def push(self, waiting: _Waiting) -> None:
        self.waiting.append(waiting)
        self.runs[_run_of(waiting)] += 1

    def pop(self) -> _Waiting:
        waiting = self.waiting.popleft()
        self.runs[_run_of(waiting)] -= 1
        return waiting

    def drop(self, waiting: _Waiting) -> None:
        self.waiting.remove(waiting)
        self.runs[_run_of(waiting)] -= 1

    def admits(self, now: int) -> bool:
        if self.concurrency is not None and self.running >= self.concurrency:
            return False
        return self.window is None or self.window.admits(now)


class ActivityLimits:
    def __init__(
        self, submit: Submit, clock: Clock = SYSTEM_CLOCK, recent: Recent | None = None
    ) -> None:
        self._submit = submit
        self._clock = clock
        #: reads an activity's last window back from history (None: starts empty)
        self._recent = recent
        #: this engine's start: attempts scheduled since pass here, and are counted here
        self._born = clock.now_ns()
        self._lock = threading.Lock()
        self._gates: dict[str, Gate] = {}
        self._alarm = Alarm(clock, "aion-activity-rates")
        self._closed = False
        #: set once by `hold` (a drain): no waiting attempt is let go from then on
        self._holding = False
        #: attempts waiting for the rate's alarm alone (read without the lock)
        self.held_for_time = 0
        #: attempts waiting here for any limit (read without the lock)
        self.held_back = 0

    def submit(
        self,
        definition: ActivityDefinition[Any, Any],
        task: Task,
        done: Done,
        beat: Beat,
        deadline: int | None = None,
    ) -> None:
        """Hand the attempt to the executor now, or once its activity's limits allow."""
        if definition.rate is None and definition.concurrency is None:
            self._submit(definition, task, done, beat)
            return
        starts = self._past(definition)
        with self._lock:
            gate = self._gate(definition, starts)
            gate.push(_Waiting(definition, task, done, beat, deadline))
        self._pump(definition.name)

    def cancel(self, attempt: AttemptKey, reason: CancelReason) -> bool:
        """End the attempt as cancelled if it waits here; False if it does not."""
        with self._lock:
            found = [
                (gate, w)
                for gate in self._gates.values()
                for w in gate.waiting
                if w.task.attempt.key == attempt
            ]
            for gate, waiting in found:
                gate.drop(waiting)
            self._count()
        for _, waiting in found:
            detail = "before it ran: it waited for its activity's concurrency or rate limit"
            waiting.done(failure(ActivityCancelled(waiting.task.name, detail, reason)))
        return bool(found)

    def held(self, workflow_id: str, run_id: str) -> int:
        """How many of the run's attempts wait for their activity's rate alone."""
        if not self.held_for_time:  # (the common case, read without the lock)
            return 0
        with self._lock:
            timed = [g for g in self._gates.values() if g.timed]
            return sum(g.runs[(workflow_id, run_id)] for g in timed)

    def stats(self) -> dict[str, int]:
        return {"activity_limited": self.held_back}

    def hold(self) -> None:
        """Let no waiting attempt go from now on (the engine drains: they wait for the next)."""
        with self._lock:
            self._holding = True

    def close(self) -> None:
        """Stop the alarm; attempts still waiting end as `ExecutorClosed`, unrun."""
        self._alarm.close()
        with self._lock:
            self._closed = True
            left = [w for gate in self._gates.values() for w in gate.waiting]
            for gate in self._gates.values():
                gate.waiting.clear()
                gate.runs.clear()
            self._count()
        for waiting in left:
            waiting.done(failure(ExecutorClosed(waiting.definition.executor, waiting.task.name)))

    def _past(self, definition: ActivityDefinition[Any, Any]) -> list[int] | None:
        """The starts of the activity's last window, read from history if it has a rate and
        no gate yet (outside the lock: it reads the store); None otherwise."""
        if self._recent is None or definition.rate is None or definition.name in self._gates:
            return None
        since = self._clock.now_ns() - definition.rate.per_ns
        return self._recent(definition.name, since, self._born) if since < self._born else []

    def _gate(self, definition: ActivityDefinition[Any, Any], past: list[int] | None) -> Gate:
        """The activity's gate, its limits as registered now (held under the lock); a new
        one's window holds the `past` starts."""
        gate = self._gates.get(definition.name)
        if gate is None:
            window = Window(definition.rate) if definition.rate is not None else None
            if window is not None:
                for at in past or ():
                    window.add(at)
            gate = self._gates[definition.name] = Gate(definition.concurrency, window)
            return gate
        gate.concurrency = definition.concurrency
        rate = definition.rate
        if rate is None:
            gate.window = None
        elif gate.window is None or gate.window.rate != rate:
            gate.window = gate.window.renew(rate) if gate.window else Window(rate)
        return gate

    def _count(self) -> None:
        """Count the attempts waiting for the rate's alarm alone (holding the lock)."""
        self.held_for_time = sum(len(g.waiting) for g in self._gates.values() if g.timed)
        self.held_back = sum(len(g.waiting) for g in self._gates.values())

    def _pump(self, name: str) -> None:
        """Hand every waiting attempt the limits allow to the executor; arm the alarm if
        the rate alone holds the next one back."""
        going: list[_Waiting] = []
        expired: list[_Waiting] = []
        with self._lock:
            gate = self._gates[name]
            now = self._clock.now_ns()
            while gate.waiting and not (self._closed or self._holding):
                head = gate.waiting[0]
                if head.deadline is not None and head.deadline <= now:
                    expired.append(gate.pop())
                    continue
                if not gate.admits(now):
                    break
                gate.pop()
                gate.running += 1
                if gate.window is not None:
                    gate.window.add(now)
                going.append(head)
            wake_at = None
            slot = gate.concurrency is None or gate.running < gate.concurrency
            if gate.waiting and slot and gate.window and not gate.window.admits(now):
                wake_at = gate.window.next_at(now)  # the rate alone holds the next back
            if wake_at is not None:  # (armed before it counts as waiting on time)
                self._alarm.arm(name, wake_at, lambda: self._pump(name))
            gate.timed = wake_at is not None
            self._count()
        for waiting in expired:  # its run recorded the deadline: nobody awaits this outcome
            detail = "while it waited for its activity's limit"
            passed = CancelReason.DEADLINE_PASSED
            waiting.done(failure(ActivityCancelled(waiting.task.name, detail, passed)))
        for waiting in going:
            done = self._released(name, waiting.done)
            try:
                self._submit(waiting.definition, waiting.task, done, waiting.beat)
            except EngineClosed:
                done(failure(ExecutorClosed(waiting.definition.executor, waiting.task.name)))

    def _released(self, name: str, done: Done) -> Done:
        """`done`, after the attempt gave its slot back and the next one was let go."""

        def released(outcome: Outcome) -> None:
            with self._lock:
                self._gates[name].running -= 1
            done(outcome)
            self._pump(name)

        return released
