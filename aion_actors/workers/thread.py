"""`ThreadExecutor`: activities on a thread pool, for I/O-bound work.

Arguments and results go through a msgpack round trip, as they do on the way
to and from a worker process: the activity cannot alias the workflow's
objects, and the workflow sees the same value live as on replay (a tuple
comes back as a list either way).

A thread cannot be killed. When an attempt overruns its timeout, this
executor delivers `ActivityTimeout` at the deadline and drops the late
result; the thread stays busy until the function returns, so a stuck
activity holds one of the `max_workers` threads.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from aion_actors.core import MAX_PAYLOAD_BYTES, ConfigError, packb, unpackb
from aion_actors.workers.errors import (
    ActivityTimeout,
    ExecutorClosed,
    oversized_result,
    unrecordable_arguments,
    unrecordable_result,
)
from aion_actors.workers.task import Outcome, Task, attempt_scope, failure

log = logging.getLogger("aion_actors.workers")

_STOP_GRACE = 1.0  # seconds `close()` lets running attempts finish


@dataclass(eq=False, slots=True)
class _Entry:
    task: Task
    done: Callable[[Outcome], None]
    settled: bool = False
    future: Future[None] | None = field(default=None)


class ThreadExecutor:
    """Runs activities (registered name -> callable) on up to `max_workers` threads."""

    def __init__(
        self,
        max_workers: int,
        activities: Mapping[str, Callable[..., Any]],
        *,
        max_result_bytes: int = MAX_PAYLOAD_BYTES,
    ) -> None:
        if max_workers < 1:
            raise ConfigError(f"a thread executor needs at least 1 thread, not {max_workers}")
        self._activities = dict(activities)
        self._max_result_bytes = max_result_bytes
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="aion-activity")
        self._cond = threading.Condition()  # guards everything below
        self._unsettled: set[_Entry] = set()
        self._deadlines: list[tuple[float, int, _Entry]] = []
        self._order = itertools.count()
        self._closed = False
        self._stopping = False
        self._own = threading.local()  # marks this executor's threads, for close()
        self._watcher = threading.Thread(
            target=self._watch, name="aion-activity-deadlines", daemon=True
        )
        self._watcher.start()

    def submit(self, task: Task, done: Callable[[Outcome], None]) -> None:
        """Queue one attempt; `done(outcome)` follows from one of this executor's threads."""
        function = self._activities.get(task.name)
        if function is None:
            raise LookupError(
                f"no activity named {task.name!r} was given to this thread executor; "
                f"it runs {sorted(self._activities)}"
            )
        entry = _Entry(task, done)
        try:
            args = unpackb(packb(list(task.args)))
        except Exception as exc:
            bad = failure(unrecordable_arguments(task.name, task.args, exc))
            work: Callable[[], None] = partial(self._settle, entry, bad)
        else:
            work = partial(self._execute, entry, function, args)
        with self._cond:
            if self._closed:
                raise ExecutorClosed("thread", task.name)
            self._unsettled.add(entry)
            entry.future = self._pool.submit(work)

    def close(self) -> None:
        """Cancel queued attempts, give running ones a short grace, then stop the threads.

        Attempts that have not finished end as `ExecutorClosed`; a thread still
        running an activity after the grace cannot be stopped and is logged.
        Safe to call twice, and from a `done` callback (then it does not wait).
        """
        with self._cond:
            first = not self._closed
            self._closed = True
            running = [e.future for e in self._unsettled if e.future is not None]
        inside = getattr(self._own, "inside", False)
        if first:
            self._pool.shutdown(wait=False, cancel_futures=True)
            if not inside:
                wait(running, timeout=_STOP_GRACE)
            with self._cond:
                self._stopping = True
                self._cond.notify_all()
        if inside:
            return
        self._watcher.join()
        stuck = [f for f in running if not f.done()]
        if stuck:
            log.warning(
                "%d activity thread(s) still running after close(); they cannot be "
                "stopped and will end when their functions return",
                len(stuck),
            )
        else:
            self._pool.shutdown(wait=True)

    def _execute(self, entry: _Entry, function: Callable[..., Any], args: list[Any]) -> None:
        self._own.inside = True
        task = entry.task
        if task.timeout is not None:
            with self._cond:
                if len(self._deadlines) > 2 * len(self._unsettled) + 64:
                    self._deadlines = [d for d in self._deadlines if not d[2].settled]
                    heapq.heapify(self._deadlines)
                heapq.heappush(
                    self._deadlines, (time.monotonic() + task.timeout, next(self._order), entry)
                )
                self._cond.notify()
        with attempt_scope(task.attempt):
            try:
                result = function(*args)
            except Exception as exc:
                self._settle(entry, failure(exc))
                return
        try:
            packed = packb(result)
        except Exception as exc:
            outcome = failure(unrecordable_result(task.name, result, exc))
        else:
            if len(packed) > self._max_result_bytes:
                outcome = failure(oversized_result(task.name, len(packed), self._max_result_bytes))
            else:
                outcome = Outcome(ok=True, result=unpackb(packed))
        self._settle(entry, outcome)

    def _watch(self) -> None:
        """Deliver `ActivityTimeout` at each deadline; at close, `ExecutorClosed` to the rest."""
        self._own.inside = True
        while True:
            with self._cond:
                while not self._stopping and not self._due():
                    first = self._deadlines[0][0] if self._deadlines else None
                    self._cond.wait(None if first is None else first - time.monotonic())
                if self._stopping:
                    break
                entry = heapq.heappop(self._deadlines)[2]
            timeout = entry.task.timeout
            assert timeout is not None
            consequence = "threads cannot be stopped, so its late result will be dropped"
            self._settle(entry, failure(ActivityTimeout(entry.task.name, timeout, consequence)))
        with self._cond:
            leftovers = list(self._unsettled)
        for entry in leftovers:
            self._settle(entry, failure(ExecutorClosed("thread", entry.task.name)))

    def _due(self) -> bool:
        return bool(self._deadlines) and self._deadlines[0][0] <= time.monotonic()

    def _settle(self, entry: _Entry, outcome: Outcome) -> None:
        """Call `done` unless the attempt was already settled (a late result after a timeout)."""
        self._own.inside = True
        with self._cond:
            if entry.settled:
                return
            entry.settled = True
            self._unsettled.discard(entry)
        try:
            entry.done(outcome)
        except Exception:
            log.exception("the done callback of activity %r raised", entry.task.name)
