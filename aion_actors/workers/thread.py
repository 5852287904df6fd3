"""`ThreadExecutor`: activities on a thread pool, for I/O-bound work.

Arguments and results go through a msgpack round trip, as they do on the way
to and from a worker process: the activity cannot alias the workflow's
objects, and the workflow sees the same value live as on replay (a tuple
comes back as a list either way).

A thread cannot be killed. When an attempt overruns its timeout (or goes
longer than its heartbeat timeout without a heartbeat), this executor
delivers `AttemptTimeout` (`ActivityHeartbeatTimeout`) at the deadline and
drops the late result; the thread stays busy until the function returns, so
a stuck activity holds one of the `max_workers` threads. Cancellation is
cooperative only: the next heartbeat raises `ActivityCancelled` saying why (a
`CancelReason`: a cancel, or a timeout); an attempt not started yet ends at once.

An `async def` activity runs on one event loop thread that all of them share
(`_loop.LoopThread`, started with the first): its timeout and its
cancellation cancel the coroutine.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from aion_actors.core import (
    MAX_PAYLOAD_BYTES,
    ConfigError,
    PayloadConverter,
    payloads,
)
from aion_actors.workers._loop import LoopThread
from aion_actors.workers._thread_deadlines import Deadlines
from aion_actors.workers._thread_entry import Entry as _Entry
from aion_actors.workers._thread_entry import Pulse as _Pulse
from aion_actors.workers._thread_result import result_outcome
from aion_actors.workers.errors import (
    ActivityCancelled,
    ActivityHeartbeatTimeout,
    AttemptTimeout,
    CancelReason,
    ExecutorClosed,
)
from aion_actors.workers.task import (
    WITHDRAWN,
    AttemptInfo,
    AttemptKey,
    Outcome,
    Task,
    attempt_scope,
    failure,
)
from supervisor import bounded

log = logging.getLogger("aion_actors.workers")

_STOP_GRACE = 1.0  # seconds `close()` lets running attempts finish
_ENDED, _TIMED_OUT = CancelReason.ATTEMPT_ENDED, CancelReason.ATTEMPT_TIMED_OUT


class ThreadExecutor:
    """Runs activities (registered name -> callable) on up to `max_workers` threads.

    Its own threads and queue rather than a `concurrent.futures` pool: an
    attempt then costs no `Future` (a condition, a lock, a waiter list) and
    no work item, and the `workers` benchmark ran 2.4-3.5x the attempts a
    second. A thread starts when an attempt finds none idle, up to `max_workers`.
    """

    def __init__(
        self,
        max_workers: int,
        activities: Mapping[str, Callable[..., Any]],
        *,
        max_result_bytes: int = MAX_PAYLOAD_BYTES,
        converter: PayloadConverter | None = None,
        settling: Callable[[], AbstractContextManager[object]] = nullcontext,
    ) -> None:
        if max_workers < 1:
            raise ConfigError(f"a thread executor needs at least 1 thread, not {max_workers}")
        self._activities = dict(activities)
        fns = {n: getattr(f, "fn", f) for n, f in activities.items()}  # a definition's function
        self._async = {n for n, f in fns.items() if inspect.iscoroutinefunction(f)}  # async def
        #: per activity: decode its arguments, encode its result (None: the default converter)
        self._codecs = payloads.activity_codecs(converter, self._activities)
        self._max_workers = max_workers
        #: entered by a thread around handing its attempt's outcome to `done`
        self._settling = settling
        self._max_result_bytes = max_result_bytes
        self._queue: queue.SimpleQueue[_Entry | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        # Hot paths take the bare lock: a `Condition`'s `with` is Python code.
        self._lock = threading.Lock()  # guards everything below
        self._cond = threading.Condition(self._lock)
        self._idle = 0  # threads done with their attempt, soon waiting for the next
        self._unsettled: set[_Entry] = set()
        self._executing = 0  # threads inside an activity function (late ones included)
        self._deadlines = Deadlines()
        self._closed = False
        self._withdrawn = False  # (`withdraw`: no attempt starts from then on)
        self._stopping = False
        self._own = threading.local()  # marks this executor's threads, for close()
        self._loop: LoopThread | None = None  # the async activities' loop, from the first
        self._watcher = threading.Thread(
            target=self._watch, name="aion-activity-deadlines", daemon=True
        )
        self._watcher.start()

    def submit(
        self,
        task: Task,
        done: Callable[[Outcome], None],
        beat: Callable[[Any], None] | None = None,
    ) -> None:
        """Queue one attempt; `done(outcome)` follows from one of this executor's threads."""
        function = self._activities.get(task.name)
        if function is None:
            raise LookupError(
                f"no activity named {task.name!r} was given to this thread executor; "
                f"it runs {sorted(self._activities)}"
            )
        entry = _Entry.of(task, done, function, self._codecs, beat)
        thread = None
        with self._lock:
            if self._closed:
                raise ExecutorClosed("thread", task.name)
            self._unsettled.add(entry)
            if task.name in self._async:
                self._loop = self._loop or LoopThread("aion-activity-loop")
                entry.stop = self._loop.spawn(self._execute_async(entry)).cancel
                return
            own = self._own
            if getattr(own, "handing", False) and own.next is None:
                own.next = entry  # see `_work`: this thread runs it next, nobody is woken
                return
            if self._idle:
                self._idle -= 1
            elif len(self._threads) < self._max_workers:
                thread = threading.Thread(
                    target=self._work, name=f"aion-activity_{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
        self._queue.put(entry)
        if thread is not None:
            thread.start()

    def running_here(self) -> bool:
        """Whether the calling thread is one of this executor's (an activity's, its
        deadline watcher's, its async activities' loop)."""
        loop = self._loop
        return getattr(self._own, "inside", False) or (loop is not None and loop.is_current())

    def cancel(self, attempt: AttemptKey, grace: float, reason: CancelReason) -> None:
        """Ask the attempt to stop (cooperatively: a thread cannot be killed, `grace` is
        not used); one not started yet ends as `ActivityCancelled` without running."""
        unrun = []
        with self._lock:
            for entry in self._unsettled:
                if entry.task.attempt.key == attempt:
                    entry.cancelled = entry.cancelled or reason
                    if not entry.started or entry.stop is not None:
                        unrun.append(entry)
        for entry in unrun:  # or an async one: its coroutine is cancelled
            told = ActivityCancelled(entry.task.name, "before it ran", reason)
            self._settle(entry, failure(told))

    def withdraw(self) -> None:
        """Start no attempt from now on (a drain): those not started end unrun, `done(WITHDRAWN)`,
        here (those submitted later: as a thread takes them); those running go on."""
        with self._lock:
            self._withdrawn = True
            unstarted = [entry for entry in self._unsettled if not entry.started]
            for entry in unstarted:
                self._mark_settled(entry)
        for entry in unstarted:
            self._hand(entry, WITHDRAWN)

    def close(self) -> None:
        """Cancel queued attempts, give running ones a short grace, then stop the threads.

        Attempts that have not finished end as `ExecutorClosed`; a thread still
        running an activity after the grace cannot be stopped and is logged.
        Safe to call twice, and from a `done` callback (then it does not wait).
        """
        inside = getattr(self._own, "inside", False)
        with self._cond:
            first = not self._closed
            self._closed = True
            if first and not inside:
                deadline = time.monotonic() + _STOP_GRACE
                while self._executing:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
            stuck = self._executing
            if first:
                self._stopping = True
                self._cond.notify_all()
                for _ in self._threads:
                    self._queue.put(None)
        if inside:
            if self._loop is not None:
                self._loop.close(join=False)
            return
        self._watcher.join()  # it ends what is left as ExecutorClosed, cancelling coroutines
        if self._loop is not None:
            self._loop.close()
        if stuck:
            log.warning(
                "%d activity thread(s) still running after close(); they cannot be "
                "stopped and will end when their functions return",
                stuck,
            )
            return
        for thread in self._threads:
            thread.join()

    def _work(self) -> None:
        own = self._own
        own.inside, own.handing, own.next = True, False, None
        while True:
            # An attempt submitted by this thread while it handed its last outcome over
            # (the next activity of a run whose turn ran here, lent) runs here next: its
            # thread is free as soon as that turn ends, and another thread would be
            # woken only to wait for the GIL until then.
            entry, own.next = own.next, None
            if entry is not None:
                with self._lock:
                    self._idle -= 1  # (as a submit reserves an idle thread)
            else:
                entry = self._queue.get()
            if entry is None:
                return
            with self._lock:
                if self._closed:  # queued when the executor closed: it never runs
                    continue
                late = self._withdrawn and not entry.settled and self._mark_settled(entry)
                if entry.settled:  # cancelled or withdrawn before it ran: this thread is free
                    self._idle += 1
                else:
                    self._executing += 1
                    entry.started = True
            if late:  # submitted after `withdraw`
                self._hand(entry, WITHDRAWN)
            if not entry.started:
                continue
            try:
                if entry.refused is not None:
                    self._settle(entry, entry.refused)
                else:
                    self._execute(entry)
            finally:
                with self._lock:
                    self._executing -= 1
                    self._idle += 1
                    if self._closed:
                        self._cond.notify_all()  # close() may be waiting for us

    def _execute(self, entry: _Entry) -> None:
        now, info = self._begin(entry)
        error: BaseException | None = None
        with attempt_scope(info):
            try:
                result = entry.function(*entry.args)
            except BaseException as exc:  # SystemExit, KeyboardInterrupt too: see _fail
                error = exc
        own = self._own
        own.handing = True
        try:
            with self._settling():  # the outcome only: heartbeats go as they come
                if error is not None:
                    self._fail(entry, error, now)
                else:
                    self._finish(entry, result)
        finally:
            own.handing = False

    async def _execute_async(self, entry: _Entry) -> None:
        """An `async def` attempt, on the loop thread; cancelled by its timeout or a cancel."""
        with self._lock:
            late = self._withdrawn and not entry.settled and self._mark_settled(entry)
            if not entry.settled and not self._closed:
                self._executing += 1
                entry.started = True
        if not entry.started:  # cancelled, withdrawn or closed before it ran
            if late:  # submitted after `withdraw`
                self._hand(entry, WITHDRAWN)
            return
        try:
            if entry.refused is not None:
                self._settle(entry, entry.refused)
                return
            now, info = self._begin(entry)
            with attempt_scope(info):
                try:
                    result = await entry.function(*entry.args)
                except asyncio.CancelledError:  # a timeout settled it already; a cancel not
                    told = ActivityCancelled(entry.task.name, reason=entry.cancelled or _ENDED)
                    self._settle(entry, failure(told))
                    return
                except GeneratorExit:  # the coroutine is closed with its loop: nothing to tell
                    raise
                except BaseException as exc:  # escaping, it would stop the shared loop
                    self._fail(entry, exc, now)
                    return
            self._finish(entry, result)
        finally:
            with self._lock:
                self._executing -= 1
                if self._closed:
                    self._cond.notify_all()  # close() may be waiting for us

    def _begin(self, entry: _Entry) -> tuple[float, AttemptInfo]:
        """Arm the attempt's deadlines; its start time and what `current_attempt()` says."""
        task = entry.task
        entry.last_beat = now = time.monotonic()
        if task.timeout is not None or task.heartbeat_timeout is not None:
            with self._cond:
                self._deadlines.arm(entry, now, len(self._unsettled))
                self._cond.notify()
        pulse = _Pulse(entry, self._max_result_bytes)
        info = task.attempt  # as it is, but with this attempt's pulse (cheaper than `replace`)
        return now, AttemptInfo(*info.key, info.heartbeat_details, pulse)

    def _fail(self, entry: _Entry, exc: BaseException, started: float) -> None:
        """Record what the activity raised as its attempt's failure, whatever it is.

        A SystemExit or KeyboardInterrupt raised here cannot mean "stop the service"
        (a signal's KeyboardInterrupt goes to the main thread): it is the activity's code
        failing, retried by its policy like any error, and the thread serves on.
        """
        timeout = entry.task.timeout  # a hand-off takes what is left of its clock along
        left = started + (timeout or 0.0) - time.monotonic()
        self._settle(entry, failure(exc, timeout, left))

    def _finish(self, entry: _Entry, result: Any) -> None:
        name = entry.task.name
        codec = None if self._codecs is None else self._codecs[name]
        self._settle(entry, result_outcome(name, result, codec, self._max_result_bytes))

    def _watch(self) -> None:
        """Deliver `AttemptTimeout` at each deadline (`ActivityHeartbeatTimeout` when the last
        heartbeat is too old); at close, `ExecutorClosed` to the rest."""
        self._own.inside = True
        consequence = "threads cannot be stopped, so its late result will be dropped"
        while True:
            with self._cond:
                while not self._stopping and not self._deadlines.due(time.monotonic()):
                    first = self._deadlines.first()
                    # an activity timeout may be years: it waits a day at a time
                    self._cond.wait(bounded(None if first is None else first - time.monotonic()))
                if self._stopping:
                    break
                beat, entry = self._deadlines.pop()
                limit = entry.task.heartbeat_timeout if beat else entry.task.timeout
                assert limit is not None
                if beat and not entry.settled and entry.last_beat + limit > time.monotonic():
                    self._deadlines.add(entry.last_beat + limit, entry, beat=True)  # it beat since
                    continue
            error = (ActivityHeartbeatTimeout if beat else AttemptTimeout)(
                entry.task.name, limit, consequence
            )
            ended = CancelReason.HEARTBEAT_TIMED_OUT if beat else _TIMED_OUT
            self._settle(entry, failure(error), ended)
        with self._cond:
            leftovers = list(self._unsettled)
        for entry in leftovers:
            self._settle(entry, failure(ExecutorClosed("thread", entry.task.name)))

    def _settle(self, entry: _Entry, outcome: Outcome, ended: CancelReason | None = None) -> None:
        """Call `done` unless the attempt was already settled (a late result after a timeout)."""
        with self._lock:
            if entry.settled:
                return
            entry.cancelled = entry.cancelled or ended  # what a late heartbeat hears
            self._mark_settled(entry)
        self._hand(entry, outcome)

    def _mark_settled(self, entry: _Entry) -> bool:
        """(Under the lock) `entry` gets its outcome now: none other after it."""
        entry.settled = True
        self._unsettled.discard(entry)
        return True

    def _hand(self, entry: _Entry, outcome: Outcome) -> None:
        """Give a settled attempt's outcome to `done`."""
        if entry.stop is not None:  # an async attempt's coroutine ends with it
            entry.stop()
        try:
            entry.done(outcome)
        except Exception:
            log.exception("the done callback of activity %r raised", entry.task.name)
