"""The engine's activity executors, built when first needed.

Workers learn at start which activities they may run, and users register
activities after `Engine.open`, so the process pool (and the thread pool)
is created at the first attempt that needs it, from everything registered
by then. An activity registered later gets a fresh pool with the fuller
list; the older pool finishes what it runs and closes with the engine.

Building a pool never fails because of one activity: an activity that
cannot run in a worker fails its own attempts (`ActivityUnavailable`), so
every run reports its own activity's failure and the others run. The pool
restarts its workers by `worker_policy` (the `[workers]` table of an
`aion.toml`; see `WorkerPool`). Attempts of an activity with limits
(`@activity(concurrency=, rate=)`) pass `ActivityLimits` first.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from aion_actors.core import MAX_PAYLOAD_BYTES, EngineClosed, PayloadConverter
from aion_actors.runtime.catalog import Catalog
from aion_actors.runtime.clock import SYSTEM_CLOCK, Clock
from aion_actors.runtime.definitions import ActivityDefinition
from aion_actors.runtime.limits import ActivityLimits, Recent
from aion_actors.workers import (
    AttemptKey,
    CancelReason,
    Executor,
    Outcome,
    Task,
    ThreadExecutor,
    WorkerPool,
    check_not_in_worker_bootstrap,
    check_start_method,
)
from supervisor import RestartPolicy


class Executors:
    def __init__(
        self,
        catalog: Catalog,
        *,
        workers: int | None = None,
        threads: int = 32,
        start_method: str = "forkserver",
        max_result_bytes: int = MAX_PAYLOAD_BYTES,
        converter: PayloadConverter | None = None,
        converter_path: str | None = None,
        worker_policy: RestartPolicy | None = None,
        settling: Callable[[], AbstractContextManager[object]] = nullcontext,
        clock: Clock = SYSTEM_CLOCK,
        recent: Recent | None = None,
    ) -> None:
        check_not_in_worker_bootstrap("Engine()")
        check_start_method(start_method)
        self._catalog = catalog
        #: the payload converter (None: the default) and where worker processes import it
        self._converter = converter
        self._converter_path = converter_path if converter is not None else None
        self._worker_policy = worker_policy
        self._max_result_bytes = max_result_bytes
        self.workers = workers or os.cpu_count() or 2
        self._threads = threads
        #: what a thread activity's thread enters to hand its outcome over (`Dispatcher.lend`:
        #: the run's turn then runs in that thread when nothing else does, without a hop)
        self._settling = settling
        self._start_method = start_method
        self._lock = threading.Lock()
        #: by executor kind: the newest executor and the definitions it was built with (an
        #: activity registered again with `replace=True` gets a new one, with the new code)
        self._current: dict[str, tuple[Executor, dict[str, ActivityDefinition[Any, Any]]]] = {}
        self._all: list[Executor] = []
        self._closed = False
        self._withdrawn = False  # (`withdraw`: no attempt starts from then on)
        #: `@activity(concurrency=, rate=)`, on the engine's clock; `recent` reads back the
        #: rate windows of the engine's last life
        self._limits = ActivityLimits(self._submit, clock, recent)

    def submit(
        self,
        definition: ActivityDefinition[Any, Any],
        task: Task,
        done: Callable[[Outcome], None],
        beat: Callable[[Any], None] | None = None,
        deadline: int | None = None,
    ) -> None:
        """Run the attempt (once its activity's limits allow); `deadline`: its
        `ctx.activity(timeout=)` (unix ns), past which it is not started."""
        self._limits.submit(definition, task, done, beat, deadline)

    @property
    def held_for_time(self) -> int:
        """Attempts waiting for their activity's rate alone (an alarm, like a timer)."""
        return self._limits.held_for_time

    @property
    def held_back(self) -> int:
        """Attempts waiting for their activity's concurrency or rate limit."""
        return self._limits.held_back

    def withdraw(self) -> None:
        """Start no attempt from now on (a drain): one waiting for its activity's limits
        waits on; one queued in an executor, not started yet, ends unrun (`WITHDRAWN`),
        as does one an executor built later gets."""
        self._limits.hold()
        with self._lock:
            self._withdrawn = True
            executors = list(self._all)
        for executor in executors:
            executor.withdraw()

    @property
    def withdrawing(self) -> int:
        """Attempts withdrawn inside a worker process, to be answered unrun (never started)."""
        with self._lock:
            pools = [e for e in self._all if isinstance(e, WorkerPool)]
        return sum(pool.withdrawing for pool in pools)

    def held(self, workflow_id: str, run_id: str) -> int:
        """How many of the run's attempts wait for their activity's rate alone."""
        return self._limits.held(workflow_id, run_id)

    def running_here(self) -> bool:
        """Whether the calling thread is one of this engine's activity threads."""
        with self._lock:
            executors = list(self._all)
        return any(isinstance(e, ThreadExecutor) and e.running_here() for e in executors)

    def _submit(
        self,
        definition: ActivityDefinition[Any, Any],
        task: Task,
        done: Callable[[Outcome], None],
        beat: Callable[[Any], None] | None,
    ) -> None:
        self._executor_for(definition).submit(task, done, beat)

    def cancel(self, attempt: AttemptKey, grace: float, reason: CancelReason) -> None:
        """Ask the attempt to stop, `reason` saying why, in whichever executor runs it (see
        `Executor.cancel`); one waiting for its activity's limits ends unrun."""
        if self._limits.cancel(attempt, reason):
            return
        with self._lock:
            executors = list(self._all)
        for executor in executors:
            executor.cancel(attempt, grace, reason)

    def _executor_for(self, definition: ActivityDefinition[Any, Any]) -> Executor:
        kind = definition.executor
        with self._lock:
            if self._closed:
                raise EngineClosed()
            current = self._current.get(kind)
            if current is not None and current[1].get(definition.name) is definition:
                return current[0]
            chosen = [a for a in self._catalog.activities() if a.executor == kind]
            executor: Executor
            if kind == "thread":
                executor = ThreadExecutor(
                    self._threads,
                    {a.name: a for a in chosen},
                    max_result_bytes=self._max_result_bytes,
                    converter=self._converter,
                    settling=self._settling,
                )
            else:
                executor = WorkerPool(
                    self.workers,
                    {a.name: a.import_path for a in chosen},
                    start_method=self._start_method,
                    max_result_bytes=self._max_result_bytes,
                    policy=self._worker_policy,
                    converter=self._converter_path,
                )
            self._current[kind] = (executor, {a.name: a for a in chosen})
            self._all.append(executor)
        if self._withdrawn:  # (built for an attempt sent as the drain began)
            executor.withdraw()
        return executor

    def stats(self) -> dict[str, int]:
        """Worker crashes and replacements, summed over the process pools."""
        totals = {"worker_crashes": 0, "workers_replaced": 0, "activity_timeouts": 0}
        totals.update(self._limits.stats())
        with self._lock:
            pools = [e for e in self._all if isinstance(e, WorkerPool)]
        for pool in pools:
            stats = pool.stats()
            totals["worker_crashes"] += stats.crashed
            totals["workers_replaced"] += stats.replaced
            totals["activity_timeouts"] += stats.timeouts
        return totals

    def close(self) -> None:
        self._limits.close()
        with self._lock:
            self._closed = True
            executors, self._all = self._all, []
            self._current.clear()
        for executor in executors:
            executor.close()
