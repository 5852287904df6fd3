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
the wall clock (they protect a real dependency, whatever the engine's clock).
The window counts hand-offs to the executor; an executor short of workers
only delays starts further.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aion_actors.core import EngineClosed
from aion_actors.runtime.alarm import Alarm
from aion_actors.runtime.clock import SYSTEM_CLOCK
from aion_actors.runtime.definitions import ActivityDefinition
from aion_actors.runtime.rates import Window
from aion_actors.workers.errors import ActivityCancelled, ExecutorClosed
from aion_actors.workers.task import AttemptKey, Outcome, Task, failure

Done = Callable[[Outcome], None]
Beat = Callable[[Any], None] | None
Submit = Callable[[ActivityDefinition[Any, Any], Task, Done, Beat], None]


@dataclass(slots=True)
class _Waiting:
    definition: ActivityDefinition[Any, Any]
    task: Task
    done: Done
    beat: Beat
    deadline: int | None


@dataclass(slots=True)
class Gate:
    """One limited activity: its attempts in flight, its window and who waits."""

    concurrency: int | None
    window: Window | None
    running: int = 0
    waiting: collections.deque[_Waiting] = field(default_factory=collections.deque)

    def admits(self, now: int) -> bool:
        if self.concurrency is not None and self.running >= self.concurrency:
            return False
        return self.window is None or self.window.admits(now)


class ActivityLimits:
    def __init__(self, submit: Submit) -> None:
        self._submit = submit
        self._lock = threading.Lock()
        self._gates: dict[str, Gate] = {}
        self._alarm = Alarm(SYSTEM_CLOCK, "aion-activity-rates")
        self._closed = False

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
        with self._lock:
            gate = self._gate(definition)
            gate.waiting.append(_Waiting(definition, task, done, beat, deadline))
        self._pump(definition.name)

    def cancel(self, attempt: AttemptKey) -> bool:
        """End the attempt as cancelled if it waits here; False if it does not."""
        with self._lock:
            found = [
                (gate, w)
                for gate in self._gates.values()
                for w in gate.waiting
                if w.task.attempt.key == attempt
            ]
            for gate, waiting in found:
                gate.waiting.remove(waiting)
        for _, waiting in found:
            detail = "before it ran: it waited for its activity's concurrency or rate limit"
            waiting.done(failure(ActivityCancelled(waiting.task.name, detail)))
        return bool(found)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"activity_limited": sum(len(g.waiting) for g in self._gates.values())}

    def close(self) -> None:
        """Stop the alarm; attempts still waiting end as `ExecutorClosed`, unrun."""
        self._alarm.close()
        with self._lock:
            self._closed = True
            left = [w for gate in self._gates.values() for w in gate.waiting]
            for gate in self._gates.values():
                gate.waiting.clear()
        for waiting in left:
            waiting.done(failure(ExecutorClosed(waiting.definition.executor, waiting.task.name)))

    def _gate(self, definition: ActivityDefinition[Any, Any]) -> Gate:
        """The activity's gate, its limits as registered now (held under the lock)."""
        gate = self._gates.get(definition.name)
        if gate is None:
            window = Window(definition.rate) if definition.rate is not None else None
            gate = self._gates[definition.name] = Gate(definition.concurrency, window)
            return gate
        gate.concurrency = definition.concurrency
        rate = definition.rate
        if rate is None:
            gate.window = None
        elif gate.window is None or gate.window.rate != rate:
            gate.window = gate.window.renew(rate) if gate.window else Window(rate)
        return gate

    def _pump(self, name: str) -> None:
        """Hand every waiting attempt the limits allow to the executor; arm the alarm if
        the rate alone holds the next one back."""
        going: list[_Waiting] = []
        expired: list[_Waiting] = []
        with self._lock:
            gate = self._gates[name]
            now = time.time_ns()
            while gate.waiting and not self._closed:
                head = gate.waiting[0]
                if head.deadline is not None and head.deadline <= now:
                    expired.append(gate.waiting.popleft())
                    continue
                if not gate.admits(now):
                    break
                gate.waiting.popleft()
                gate.running += 1
                if gate.window is not None:
                    gate.window.add(now)
                going.append(head)
            wake_at = None
            slot = gate.concurrency is None or gate.running < gate.concurrency
            if gate.waiting and slot and gate.window and not gate.window.admits(now):
                wake_at = gate.window.next_at(now)  # the rate alone holds the next back
        if wake_at is not None:
            self._alarm.arm(name, wake_at, lambda: self._pump(name))
        for waiting in expired:  # its run recorded the deadline: nobody awaits this outcome
            detail = "its ctx.activity(timeout=) passed while it waited for its activity's limit"
            waiting.done(failure(ActivityCancelled(waiting.task.name, detail)))
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
