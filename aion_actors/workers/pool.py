"""`WorkerPool`: activities in supervised worker processes, one dispatcher thread for all.

The dispatcher multiplexes every worker's pipe and exit sentinel plus a
self-pipe for wake-ups in one selector, so the pool costs one thread however
many workers it has. A worker runs one attempt at a time; attempts queue FIFO
while every worker is busy, a few of them in a worker behind a short one
(`_pacing`). A worker that dies is replaced and its attempt ends as
`WorkerCrashed` (those queued behind it run again); one that overruns its timeout is SIGKILLed,
replaced, and its attempt ends as `AttemptTimeout` (`ActivityHeartbeatTimeout`
for an attempt whose heartbeats stopped; `ActivityCancelled` for one that did
not stop within its grace once cancelled: `_liveness`); `WorkerPool` says when.
Each worker leads a process group of its own and dies with the engine, even
a SIGKILL of the engine process alone (`_lifeline`); however a worker ends,
its group is SIGKILLed, so what its activities started ends with it.

Workers come from a forkserver (or spawn) context, never `fork`: the engine
process has threads. The forkserver preloads this package's worker module
and the activity modules, so a replacement starts from a warm image in about
15 ms. The forkserver and multiprocessing's resource tracker are singletons
of the interpreter, shared with anything else that uses forkserver; they hold
no pool state, are left running by `close()` and exit with the interpreter.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import selectors
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aion_actors.core import MAX_PAYLOAD_BYTES, ConfigError, unpackb
from aion_actors.workers import _liveness, _outcomes, _pacing, _process, _withdrawal, _worker
from aion_actors.workers._activities import ActivityTable
from aion_actors.workers._imports import WORKER_NAME_PREFIX
from aion_actors.workers._process import Job, State, WorkerProcess, check_start_method
from aion_actors.workers._restarts import DEFAULT_WORKER_RESTART, RestartPlan, StartFailure
from aion_actors.workers._stats import Counts, PoolStats
from aion_actors.workers.errors import CancelReason, ExecutorClosed
from aion_actors.workers.task import WITHDRAWN, AttemptKey, Outcome, Task
from supervisor import RestartPolicy

log = logging.getLogger("aion_actors.workers")

_STOP_GRACE = 1.0  # seconds `close()` lets busy workers finish before killing them
_CONN, _SENTINEL = 0, 1


class WorkerPool:
    """Runs activities (registered name -> `"module:qualname"`) in `size` worker processes.

    Each worker imports the activity modules by name when it starts, so an
    activity must be a module-level callable (a wrapper object is fine)
    importable in a fresh process: workers get the engine's `sys.path`. An
    activity in the `__main__` of a script works as multiprocessing's spawn
    does it: the script is re-imported as `__mp_main__` (guard it with
    `if __name__ == "__main__":`). Test modules work under pytest's default
    `prepend` import mode, not under `--import-mode=importlib`.

    An activity that cannot run in a worker (its path does not resolve here,
    resolving it raises in a worker, or its module kills workers as they
    import it) fails its own attempts at once with `ActivityUnavailable`,
    never retried; the others run.

    Restarts follow `policy` (its `max_restarts`, `within_seconds` and
    `backoff`; default `DEFAULT_WORKER_RESTART`) by the rules `_restarts`
    states, so the pool neither spins nor gives up silently: a broken pool
    fails queued and new attempts at once with `WorkerStartFailed` naming the
    cause (never retried); crashes beyond the window only log a warning.
    """

    def __init__(
        self,
        size: int,
        activities: Mapping[str, str],
        *,
        start_method: str = "forkserver",
        max_result_bytes: int = MAX_PAYLOAD_BYTES,
        policy: RestartPolicy | None = None,
        converter: str | None = None,
    ) -> None:
        if size < 1:
            raise ConfigError(f"a worker pool needs at least 1 worker process, not {size}")
        check_start_method(start_method)
        self._table = ActivityTable(activities)
        self._max_result_bytes = max_result_bytes
        self._converter = converter  # the payload converter's import path (None: the default)
        self._context = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            # Only takes effect if this interpreter's forkserver is not running yet.
            self._context.set_forkserver_preload([_worker.__name__, *self._table.preload()])
        self._lock = threading.Lock()  # guards _inbox, _woken, _closing and the wake-up fds
        self._inbox: list[Job] = []
        self._cancels: list[_liveness.Cancel] = []
        self._withdrawal = _withdrawal.Withdrawal()
        self._woken = False
        self._closing = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        # Everything below belongs to the dispatcher thread once it runs.
        self._slots: list[WorkerProcess | None] = [None] * size
        self._plan = RestartPlan(policy or DEFAULT_WORKER_RESTART, size)
        self._ready: list[WorkerProcess] = []  # started, and not ended
        self._pace = _pacing.Pace()
        self._pending: deque[Job] = deque()
        self._stopping_since: float | None = None
        self._counts = Counts()
        try:
            self._restart_due(time.monotonic(), replacing=False)  # start failures are planned
        except BaseException:
            self._kill_all()
            self._release()
            raise
        self._thread = threading.Thread(target=self._serve, name="aion-worker-pool", daemon=True)
        self._thread.start()

    # Any thread

    def submit(
        self,
        task: Task,
        done: Callable[[Outcome], None],
        beat: Callable[[Any], None] | None = None,
    ) -> None:
        """Queue one attempt; `done(outcome)` (and `beat(details)`) follow from the
        dispatcher thread."""
        if task.name not in self._table.paths:
            raise LookupError(
                f"no activity named {task.name!r} was given to this worker pool; "
                f"it runs {sorted(self._table.paths)}"
            )
        job = Job.of(task, done, beat, self._max_result_bytes)
        with self._lock:
            if self._closing:
                raise ExecutorClosed("process", task.name)
            self._inbox.append(job)
            self._wake()

    def cancel(self, attempt: AttemptKey, grace: float, reason: CancelReason) -> None:
        """Ask the attempt to stop (see `_liveness`); its worker is killed after `grace` s."""
        with self._lock:
            if not self._closing:
                self._cancels.append((attempt, grace, reason))
                self._wake()

    def withdraw(self) -> None:
        """Start no attempt from now on (see `_withdrawal`); returns once those queued here
        were answered `WITHDRAWN`."""
        with self._lock:
            if not self._closing:
                self._withdrawal.asked = True
                self._wake()
        if threading.current_thread() is not self._thread:
            self._withdrawal.wait()

    @property
    def withdrawing(self) -> int:
        """Attempts withdrawn inside a worker and not answered yet (never started)."""
        return self._withdrawal.answering

    def _wake(self) -> None:
        """Wake the dispatcher (with the lock held)."""
        if not self._woken:
            self._woken = True
            os.write(self._wake_w, b"\0")

    def close(self) -> None:
        """Stop the workers (graceful, then SIGKILL after a short grace) and the dispatcher.

        Attempts still queued or running at the end end as `ExecutorClosed`.
        Safe to call twice, and from a `done` callback (then it does not wait).
        """
        with self._lock:
            if not self._closing:
                self._closing = True
                self._wake()
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def stats(self) -> PoolStats:
        workers = sum(1 for w in self._slots if w is not None)
        return self._counts.snapshot(workers, self._plan.broken is not None)

    def pids(self) -> tuple[int, ...]:
        """The pids of the live worker processes."""
        return tuple(w.pid for w in list(self._slots) if w is not None)

    # Dispatcher thread

    def _serve(self) -> None:
        try:
            while self._serve_once():
                pass
        except BaseException:
            log.exception("the worker pool dispatcher failed; closing the pool")
            with self._lock:
                self._closing = True
            self._kill_all()
        finally:
            self._fail_leftovers()
            self._release()
            self._withdrawal.release()

    def _serve_once(self) -> bool:
        stop_at = None if self._stopping_since is None else self._stopping_since + _STOP_GRACE
        wait = _liveness.wait_time(self._slots, self._plan.restart_at, stop_at, time.monotonic())
        for key, _ in self._selector.select(wait):
            if key.data is None:
                self._take_inbox()
                continue
            worker, kind = key.data
            if worker.state is State.DEAD:
                continue
            if kind == _CONN:
                self._read(worker)
            else:
                self._end(worker)
        now = time.monotonic()
        self._expire(now)
        if self._stopping_since is None:
            self._restart_due(now)
            self._dispatch(now)
        elif now - self._stopping_since >= _STOP_GRACE:
            self._kill_all()
        return self._stopping_since is None or any(w is not None for w in self._slots)

    def _take_inbox(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(self._wake_r, 4096)
        with self._lock:
            jobs, self._inbox, self._woken = self._inbox, [], False
            cancels, self._cancels = self._cancels, []
            closing = self._closing
        self._settle(jobs)
        now = time.monotonic()
        for job, outcome in _liveness.cancel(cancels, self._pending, self._slots, now):
            self._deliver(job, outcome)
        if closing and self._stopping_since is None:
            self._begin_stop()

    def _settle(self, jobs: Iterable[Job] | None = None) -> None:
        """Queue `jobs` (default: those queued), answering at once those that cannot run."""
        if jobs is None:
            jobs, self._pending = self._pending, deque()
        runnable, answered = _outcomes.triage(jobs, self._table.failure, self._plan.broken)
        self._pending.extend(runnable)
        for job, outcome in answered:
            self._deliver(job, outcome)

    def _read(self, worker: WorkerProcess) -> None:
        try:
            frames = worker.reader.read()
        except (EOFError, OSError):
            self._end(worker)
            return
        self._take(worker, frames)

    def _take(self, worker: WorkerProcess, frames: list[bytes]) -> None:
        now, answered = time.monotonic(), []
        for frame in frames:
            message = unpackb(frame)
            op = message[0]
            if op == _worker.WITHDRAWN:  # never started: it stays scheduled
                answered.append((worker.finish(now)[0], WITHDRAWN))
            elif op == _worker.OK or op == _worker.ERROR:
                self._pace.ran(worker.jobs[0].task.name, now - worker.began)
                job, left = worker.finish(now)  # a hand-off takes `left` along
                self._counts.completed += 1
                reply = _outcomes.reply(message, len(frame), job.task, self._max_result_bytes, left)
                answered.append((job, reply))
            elif op == _worker.HEARTBEAT:
                _liveness.beat(worker, message[1])
            elif op == _worker.READY:
                worker.state = State.IDLE
                fresh = self._table.failed_in_worker(message[1])
                self._table.ready()
                self._plan.ready(time.monotonic())
                self._ready.append(worker)
                if fresh:
                    self._settle()
            else:
                worker.starting(message)
        if answered and self._stopping_since is None:  # successors go out before `done` runs
            self._dispatch(now)
        for job, outcome in answered:
            self._deliver(job, outcome)

    def _restart_due(self, now: float, *, replacing: bool = True) -> None:
        for index, slot in enumerate(self._slots):
            if slot is None and self._plan.restart_at[index] <= now:
                runnable, name = self._table.runnable(), f"{WORKER_NAME_PREFIX}{index}"
                worker = _process.spawn(self._context, runnable, name, self._converter)
                if isinstance(worker, StartFailure):
                    self._start_failed(index, worker, now)
                    continue
                self._slots[index] = worker
                self._selector.register(worker.conn, selectors.EVENT_READ, (worker, _CONN))
                self._selector.register(worker.sentinel, selectors.EVENT_READ, (worker, _SENTINEL))
                self._counts.replaced += replacing

    def _dispatch(self, now: float) -> None:
        if self._withdrawal.asked:  # a drain: no queued attempt starts
            for job, outcome in self._withdrawal.take(self._pending, self._slots):
                self._deliver(job, outcome)
            return
        for worker in _pacing.assign(self._pending, self._ready, self._pace, now):
            self._end(worker)

    def _expire(self, now: float) -> None:
        for worker in self._slots:
            if worker is not None and worker.deadline is not None and worker.deadline <= now:
                self._end(worker, kill=True)

    def _end(self, worker: WorkerProcess, *, kill: bool = False) -> None:
        """Reap a worker that exited (or SIGKILL it), settle its attempts, plan its replacement.

        Its replies already sent are taken first; then the attempt it ran is cut short, and
        those that waited behind it, never started, are queued again (or end as closed).
        """
        if worker in self._ready:
            self._ready.remove(worker)
            if not kill:
                with contextlib.suppress(OSError):
                    self._take(worker, worker.reader.drain())
        job, was_starting = worker.job, worker.state is State.STARTING
        why = worker.overdue() if kill and worker.deadline is not None else "timeout"
        self._selector.unregister(worker.conn)
        self._selector.unregister(worker.sentinel)
        self._slots[index := self._slots.index(worker)] = None
        exitcode = worker.reap(kill=kill)
        now, stopping = time.monotonic(), self._stopping_since is not None
        if not stopping:
            if kill:
                self._counts.timeouts += why != "cancel"
                self._plan.lost(index, now)
            elif was_starting:  # a starting worker has no job
                self._start_failed(index, _process.start_failure(worker, exitcode), now)
            else:
                self._counts.crashed += 1
                self._plan.lost(index, now)
        if job is not None:
            grace = worker.cancel_grace
            outcome = _outcomes.cut_short(
                job, exitcode, stopping=stopping, killed=kill, why=why, grace=grace
            )
            self._deliver(job, outcome)
        for waited, outcome in _outcomes.unstarted(list(worker.jobs)[1:], self._pending, stopping):
            self._deliver(waited, outcome)

    def _start_failed(self, index: int, failure: StartFailure, now: float) -> None:
        self._counts.start_failures += 1
        if failure.module is not None and self._table.module_killed(failure.module, failure.detail):
            self._settle()
        ready = any(w is not None and w.state in (State.IDLE, State.BUSY) for w in self._slots)
        self._plan.start_failed(index, failure, now, ready)
        if self._plan.broken is not None:
            self._settle()

    def _begin_stop(self) -> None:
        self._stopping_since = time.monotonic()
        self._fail_leftovers()
        for worker in self._slots:
            if worker is not None:
                worker.ask_to_stop()

    def _kill_all(self) -> None:
        if self._stopping_since is None:
            self._stopping_since = time.monotonic()
        for worker in self._slots:
            if worker is not None:
                self._end(worker, kill=True)

    def _fail_leftovers(self) -> None:
        """End what is queued as closed (at a stop, or what a failed dispatcher left behind)."""
        with self._lock:
            jobs, self._inbox = self._inbox, []
        for job in [*self._pending, *jobs]:
            self._deliver(job, job.early or _outcomes.closed(job.task))
        self._pending.clear()

    def _release(self) -> None:
        self._selector.close()
        with self._lock:
            os.close(self._wake_r)
            os.close(self._wake_w)

    def _deliver(self, job: Job, outcome: Outcome) -> None:
        self._withdrawal.answered(job)
        try:
            job.done(outcome)
        except Exception:
            log.exception("the done callback of activity %r raised", job.task.name)
