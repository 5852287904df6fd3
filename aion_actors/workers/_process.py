"""The parent's handle on one worker process: its pipe, its state and its current job."""

from __future__ import annotations

import contextlib
import enum
import os
import signal
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from typing import Any, Literal

from aion_actors.core import ConfigError, packb, unpackb
from aion_actors.workers import _inbox, _worker, errors
from aion_actors.workers._frames import FrameReader, frames, write_all
from aion_actors.workers._imports import EXIT_UNGUARDED, GUARD_ADVICE, main_description
from aion_actors.workers._restarts import StartFailure
from aion_actors.workers.errors import CancelReason
from aion_actors.workers.task import Outcome, Task, failure

#: why the pool ended a busy worker's attempt itself
KillReason = Literal["timeout", "beat", "cancel"]
_STOP_MESSAGE = packb([_inbox.STOP])
_WITHDRAW_MESSAGE = packb([_inbox.WITHDRAW])
_JOIN_AFTER_EXIT = 1.0  # seconds; an exited or killed process is reaped well within this


@dataclass(eq=False, slots=True)
class Job:
    """A submitted task, its callback, and its RUN message (or an outcome known in advance)."""

    task: Task
    done: Callable[[Outcome], None]
    message: bytes | None
    early: Outcome | None = None
    #: where its heartbeats' details go
    beat: Callable[[Any], None] | None = None
    #: the grace of a cancel that came while it was queued in a worker (None: none came)
    cancel_grace: float | None = None
    #: why it was told to stop, once it was
    cancel_reason: CancelReason = CancelReason.WORKFLOW_CANCELLED
    #: withdrawn while it waited in a worker behind another: answered unrun, unless that
    #: worker had already started it
    withdrawn: bool = False

    @classmethod
    def of(
        cls,
        task: Task,
        done: Callable[[Outcome], None],
        beat: Callable[[Any], None] | None,
        max_bytes: int,
    ) -> Job:
        """The job for `task`; one whose arguments are not msgpack values fails at once."""
        try:
            return cls(task, done, _worker.run_message(task, max_bytes), beat=beat)
        except Exception as exc:
            unrecordable = errors.unrecordable_arguments(task.name, task.args, exc)
            return cls(task, done, None, failure(unrecordable))


class State(enum.Enum):
    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    DEAD = "dead"


class WorkerProcess:
    """A started worker process; only the pool's dispatcher thread touches it."""

    __slots__ = (
        "beat_at",
        "began",
        "cancel_at",
        "cancel_grace",
        "conn",
        "deadline",
        "importing",
        "jobs",
        "lifeline",
        "process",
        "queued_bytes",
        "reader",
        "started",
        "state",
        "timeout_at",
    )

    def __init__(
        self,
        context: BaseContext,
        activities: Mapping[str, str],
        name: str,
        converter: str | None = None,
    ) -> None:
        parent_end, child_end = context.Pipe(duplex=True)
        # Only this process ever holds the write end: when it dies, the worker's end reads EOF.
        watched_end, lifeline = context.Pipe(duplex=False)
        process: Any = context.Process(  # type: ignore[attr-defined]
            target=_worker.main,
            args=(child_end, watched_end, dict(activities), converter),
            name=name,
            daemon=True,
        )
        try:
            process.start()
        except BaseException:
            parent_end.close()
            lifeline.close()
            raise
        finally:
            child_end.close()
            watched_end.close()
        self.process = process
        self.conn = parent_end
        self.lifeline = lifeline
        self.reader = FrameReader(parent_end.fileno())
        self.state = State.STARTING
        #: the attempts sent to it, in order: the first runs, the others wait their turn
        self.jobs: deque[Job] = deque()
        self.queued_bytes = 0  # of the RUN messages of those that wait
        self.began = 0.0  # when the first started, as far as the pool knows
        #: when its attempt overruns its timeout, its heartbeat timeout, its cancel grace
        self.timeout_at: float | None = None
        self.beat_at: float | None = None
        self.cancel_at: float | None = None
        self.cancel_grace = 0.0
        #: the first of those three (None: no limit), kept as they change: the dispatcher
        #: reads it for every worker on every turn
        self.deadline: float | None = None
        self.started = False  # its own code runs: it got past re-importing the main script
        self.importing: str | None = None

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    @property
    def sentinel(self) -> int:
        return int(self.process.sentinel)

    @property
    def job(self) -> Job | None:
        """The attempt it runs (None: it is idle)."""
        return self.jobs[0] if self.jobs else None

    def run(self, jobs: list[Job], now: float) -> None:
        """Send `jobs` to this worker, with one write, to run after those it holds; raises
        OSError if the worker is already gone."""
        write_all(self.conn.fileno(), frames(job.message for job in jobs if job.message))
        idle = not self.jobs
        self.jobs.extend(jobs)
        self.queued_bytes += sum(len(job.message or b"") for job in jobs)
        self.state = State.BUSY
        if idle:
            self._begin(now)

    def _begin(self, now: float) -> None:
        """Its first attempt starts (as far as the pool can tell): its clocks start."""
        job = self.jobs[0]
        self.queued_bytes -= len(job.message or b"")
        self.began = now
        timeout = job.task.timeout
        self.timeout_at = None if timeout is None else now + timeout
        if job.cancel_grace is not None:  # cancelled while it waited: it has that long
            self.cancel_at, self.cancel_grace = now + job.cancel_grace, job.cancel_grace
        self.beat(now)

    def beat(self, now: float) -> None:
        """Its attempt sent a heartbeat: its heartbeat clock starts again."""
        assert self.job is not None
        heartbeat_timeout = self.job.task.heartbeat_timeout
        self.beat_at = None if heartbeat_timeout is None else now + heartbeat_timeout
        self._limits_changed()

    def cancel(self, now: float, grace: float, message: bytes) -> None:
        """Tell its attempt to stop; it is killed if still running `grace` s from now."""
        if self.cancel_at is None:
            self.cancel_at, self.cancel_grace = now + grace, grace
            self._limits_changed()
            with contextlib.suppress(OSError):  # gone: its sentinel tells the dispatcher
                self.conn.send_bytes(message)

    def _limits_changed(self) -> None:
        """`deadline`: the first moment its attempt must be ended at (None: no limit)."""
        moments = [t for t in (self.timeout_at, self.beat_at, self.cancel_at) if t is not None]
        self.deadline = min(moments, default=None)

    def overdue(self) -> KillReason:
        """Why its attempt is ended, its `deadline` passed: the first limit it overran."""
        limits: list[tuple[float | None, KillReason]] = [
            (self.cancel_at, "cancel"),
            (self.timeout_at, "timeout"),
            (self.beat_at, "beat"),
        ]
        return min((at, why) for at, why in limits if at is not None)[1]

    def finish(self, now: float) -> tuple[Job, float | None]:
        """The job whose reply just arrived, and the seconds its timeout had left at `now`
        (None: it has none); the next one it holds starts."""
        job = self.jobs.popleft()
        left = None if self.timeout_at is None else self.timeout_at - now
        self.timeout_at = self.beat_at = self.cancel_at = self.deadline = None
        self.cancel_grace = 0.0
        if self.jobs:
            self._begin(now)
        else:
            self.state = State.IDLE
        return job, left

    def cancel_queued(self, job: Job, grace: float, message: bytes) -> None:
        """Tell it to skip `job`, which waits behind its running attempt; should `job` have
        started by the time it reads that, it is killed if still running `grace` s later."""
        job.cancel_grace = grace
        with contextlib.suppress(OSError):  # gone: its sentinel tells the dispatcher
            self.conn.send_bytes(message)

    def withdraw_queued(self) -> None:
        """Tell it to start none of the attempts it holds behind its running one (a drain):
        it answers each `WITHDRAWN` in turn."""
        with contextlib.suppress(OSError):  # gone: its sentinel tells the dispatcher
            self.conn.send_bytes(_WITHDRAW_MESSAGE)

    def ask_to_stop(self) -> None:
        with contextlib.suppress(OSError):  # already gone: its sentinel tells the dispatcher
            self.conn.send_bytes(_STOP_MESSAGE)

    def reap(self, *, kill: bool = False) -> int | None:
        """Wait for the process to end (SIGKILL its group first if `kill`) and return its exit
        code; what its activities started and left running in its group is SIGKILLed too."""
        starting = self.state is State.STARTING
        self.state = State.DEAD
        if kill:
            self._kill()
        self.process.join(_JOIN_AFTER_EXIT)
        if self.process.is_alive():  # closed its pipe yet kept running: not a worker any more
            self._kill()
            self.process.join()
        exitcode: int | None = self.process.exitcode
        # What its activities left running: a group outlives its leader while any member
        # lives, and its id stays reserved meanwhile (an empty group's id could be reused
        # only once the kernel has cycled through every other pid since the worker ended).
        kill_group(self.pid)
        if starting:
            self._read_last_words()
        self.conn.close()
        self.lifeline.close()
        self.process.close()
        return exitcode

    def _kill(self) -> None:
        kill_group(self.pid)
        self.process.kill()  # not in its group yet (still starting), or it left it

    def starting(self, message: list[Any]) -> None:
        """Note `[STARTED]` or `[IMPORTING, module]`, said as it starts (any other: nothing)."""
        if message[0] == _worker.STARTED:
            self.started = True
        elif message[0] == _worker.IMPORTING:
            self.importing = message[1]

    def _read_last_words(self) -> None:
        """Read what a worker that died starting said before its exit was noticed."""
        with contextlib.suppress(OSError):
            for frame in self.reader.drain():
                self.starting(unpackb(frame))


def spawn(
    context: BaseContext, activities: Mapping[str, str], name: str, converter: str | None
) -> WorkerProcess | StartFailure:
    """A new worker process, or why it could not be started."""
    try:
        return WorkerProcess(context, activities, name, converter)
    except Exception as exc:
        detail = f"starting a worker process raised {type(exc).__name__}: {exc}"
        return StartFailure(detail, ("spawn",), False)


def kill_group(pid: int) -> None:
    """SIGKILL the process group a worker leads (it, and all its activities started that stayed
    in it); nothing if no such group is left."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def exit_description(exitcode: int | None) -> str:
    """`exit code 1` or `killed by SIGKILL`, as a crash report names it."""
    name = signal_name(exitcode)
    return f"killed by {name}" if name else f"exit code {exitcode}"


def signal_name(exitcode: int | None) -> str | None:
    """`SIGKILL` for an exit code of -9; None for a process that exited by itself."""
    if exitcode is None or exitcode >= 0:
        return None
    try:
        return signal.Signals(-exitcode).name
    except ValueError:
        return f"signal {-exitcode}"


def start_failure(worker: WorkerProcess, exitcode: int | None) -> StartFailure:
    """Why `worker`, which exited before it was ready, failed: the culprit, and what to do."""
    how = exit_description(exitcode)
    by_code = exitcode is not None and exitcode > 0
    if not worker.started:  # it died in multiprocessing's bootstrap, re-importing the main script
        main = main_description()
        if exitcode == EXIT_UNGUARDED and main is not None:
            detail = (
                f"{main} opened an engine when a worker process imported it (as __mp_main__) "
                f"to find its activities, so its entry point is not guarded: {GUARD_ADVICE}"
            )
            return StartFailure(detail, ("bootstrap", exitcode), True, permanent=True)
        if main is not None:
            detail = (
                f"a new worker process died ({how}) re-importing {main} as __mp_main__, before "
                "any activity was imported (its traceback, if any, is on stderr); a script's "
                f"top-level code runs again in every worker process: {GUARD_ADVICE}, and make "
                "the rest import cleanly"
            )
        else:
            detail = f"a new worker process died ({how}) before its own code ran"
        return StartFailure(detail, ("bootstrap", exitcode), by_code)
    if worker.importing is not None:  # the activity table blames the module, not the pool
        detail = f"a new worker process died ({how}) while importing {worker.importing!r}"
        return StartFailure(detail, ("import", worker.importing), False, module=worker.importing)
    return StartFailure(f"a new worker process died ({how}) while starting", ("start",), by_code)


def check_start_method(start_method: str) -> None:
    """Refuse a start method other than forkserver or spawn, before anything starts."""
    if start_method not in ("forkserver", "spawn"):
        raise ConfigError(
            f"worker start method {start_method!r} is not supported; use 'forkserver' or "
            "'spawn' (never 'fork': the engine process has threads)"
        )
