"""The plain data an executor is handed and hands back, and the executor protocol.

Both executors speak the same language so the runtime does not care where an
activity runs: a `Task` goes in, exactly one `Outcome` comes out through the
`done` callback, and an error is always a `{type, message, traceback?}` map,
never an exception object, because it is recorded as it is.
"""

from __future__ import annotations

import contextvars
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aion_actors.core import ActivityToken, error_info
from aion_actors.workers.control import control_fields, timed_hand_off
from aion_actors.workers.errors import CancelReason

#: (workflow_id, run_id, activity_id, attempt number): one attempt, as executors know it
AttemptKey = tuple[str, str, str, int]


class Pulse(Protocol):
    """Where an executing attempt's heartbeats go (each executor has its own)."""

    def beat(self, details: Any) -> None:
        """Record progress; raises `ActivityCancelled` once cancellation was requested."""


@dataclass(frozen=True, slots=True)
class AttemptInfo:
    """Which attempt of which activity of which run is executing."""

    workflow_id: str
    run_id: str
    activity_id: str
    attempt: int
    #: the details of the last heartbeat recorded for this activity (by an earlier
    #: attempt, or by this one before the engine restarted); None if none was
    heartbeat_details: Any = None
    _pulse: Pulse | None = field(default=None, compare=False, repr=False)

    @property
    def idempotency_key(self) -> str:
        """The same for every attempt of one activity, so side effects can be deduplicated."""
        return f"{self.workflow_id}/{self.run_id}/{self.activity_id}"

    @property
    def token(self) -> str:
        """Names this attempt for `engine.complete_activity` after a `CompleteLater`."""
        return str(ActivityToken(self.workflow_id, self.run_id, self.activity_id, self.attempt))

    @property
    def key(self) -> AttemptKey:
        return (self.workflow_id, self.run_id, self.activity_id, self.attempt)

    def heartbeat(self, details: Any = None) -> None:
        """Tell the engine this attempt is alive, and record `details` (a msgpack value
        under the payload limit) for the next attempt; see README "Activity cancellation
        and heartbeats".

        Raises `ActivityCancelled` once the workflow awaiting the activity was
        cancelled (let it propagate to acknowledge), and `PayloadError` for details
        that cannot be recorded. `details=None` keeps the last details. Throttled:
        call it as often as you like. Outside an executor it does nothing.
        """
        if self._pulse is not None:
            self._pulse.beat(details)


@dataclass(frozen=True, slots=True)
class Task:
    """One attempt to run the activity registered as `name` with `args`.

    `timeout` (seconds, None for none) counts from the moment the attempt
    starts executing, not from submission: waiting for a free worker is not
    the activity's fault.
    """

    name: str
    args: tuple[Any, ...] | list[Any]
    attempt: AttemptInfo
    timeout: float | None = None
    #: seconds without a heartbeat after which the attempt fails (None: never)
    heartbeat_timeout: float | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one attempt: `result` when `ok`, else an `error` map."""

    ok: bool
    result: Any = None
    error: dict[str, Any] | None = None


#: what `done` gets for an attempt withdrawn before it started (`Executor.withdraw`): it
#: never ran, and it is not an outcome to record (compare with `is`)
WITHDRAWN = Outcome(
    ok=False,
    error={
        "type": "AttemptWithdrawn",
        "message": "the attempt was withdrawn before it started (the engine drains); it did "
        "not run, and stays scheduled for the next engine",
    },
)


class Executor(Protocol):
    """Where activity attempts run: a process pool or a thread pool."""

    def submit(
        self,
        task: Task,
        done: Callable[[Outcome], None],
        beat: Callable[[Any], None] | None = None,
    ) -> None:
        """Queue `task`; `done` is called exactly once, later, from the executor's own thread.

        `done` must return quickly: it runs on the thread that serves every
        other attempt. It is never called from inside `submit`. `beat(details)`
        gets the attempt's heartbeat details (never None), throttled, before `done`.
        """

    def cancel(self, attempt: AttemptKey, grace: float, reason: CancelReason) -> None:
        """Ask the attempt to stop: its next heartbeat raises `ActivityCancelled` saying
        `reason`; one not
        started yet ends so at once. One still running `grace` seconds later is killed
        where the executor can kill (a worker process). Unknown attempts are ignored."""

    def withdraw(self) -> None:
        """Start no attempt from now on (a drain): each one queued and not started yet, and
        each one submitted later, ends unrun with `done(WITHDRAWN)`, from the executor's own
        thread or the caller's; those running go on. Those already withdrawn have been
        called back when it returns, except those waiting inside a worker process behind
        its running attempt: the worker answers each unrun when that attempt ends."""

    def close(self) -> None:
        """Stop every thread and process started; unfinished attempts end as `ExecutorClosed`."""


_CURRENT: contextvars.ContextVar[AttemptInfo] = contextvars.ContextVar("aion_actors_attempt")


def current_attempt() -> AttemptInfo:
    """The attempt the calling activity is executing, in a worker process or thread.

    Activities use `current_attempt().idempotency_key` to make side effects
    safe to repeat, since an attempt interrupted by a crash runs again.
    """
    try:
        return _CURRENT.get()
    except LookupError:
        raise LookupError(
            "current_attempt() was called outside a running activity; call it from "
            "the activity function while an executor runs it"
        ) from None


def attempt_scope(attempt: AttemptInfo) -> AttemptScope:
    """Make `attempt` what `current_attempt()` returns for the duration of the block."""
    return AttemptScope(attempt)


class AttemptScope:
    """`attempt_scope`'s context: a class, not a generator-based one (a fifth of
    the cost, and every attempt enters one)."""

    __slots__ = ("_attempt", "_token")

    def __init__(self, attempt: AttemptInfo) -> None:
        self._attempt = attempt
        self._token: contextvars.Token[AttemptInfo] | None = None

    def __enter__(self) -> None:
        self._token = _CURRENT.set(self._attempt)

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _CURRENT.reset(self._token)


def failure(exc: BaseException, timeout: float | None = None, left: float = 0.0) -> Outcome:
    """An error outcome for `exc`, with its traceback when it was raised (not just built);
    a `CompleteLater` of an attempt with a `timeout` carries it and the `left` seconds of it
    (see `control.timed_hand_off`)."""
    error = error_info(exc, traceback=_trace(exc)) | control_fields(exc)
    return Outcome(ok=False, error=timed_hand_off(error, timeout, left))


def _trace(exc: BaseException) -> str | None:
    """`exc`'s formatted traceback if it was raised; formatting reads its attributes (user
    code: a `__notes__` property may raise), and a failure must be recorded all the same."""
    if exc.__traceback__ is None:
        return None
    try:
        return "".join(traceback.format_exception(exc))
    except BaseException as broken:
        return f"<formatting the traceback raised {type(broken).__name__}>"
