"""Every error the engine raises on purpose, under one `AionError` base.

Messages say what failed, for which run, and what to do, because these reach
operators through logs and the CLI long after the code that raised them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

#: The `type` of an error map that the engine itself records or acts on, named once:
#: recorded error types are compared against these, never against a class's `__name__`
#: (which another class may share).
ACTIVITY_TIMEOUT: Final = "ActivityTimeout"  #: `ctx.activity(timeout=)` ran out
ATTEMPT_TIMEOUT: Final = "AttemptTimeout"  #: one attempt overran `@activity(timeout=)`
UNRECORDABLE: Final = "PayloadError"  #: a value that cannot be recorded (not msgpack, too big)
ACTIVITY_UNAVAILABLE: Final = "ActivityUnavailable"  #: it cannot run in a worker at all
WORKER_START_FAILED: Final = "WorkerStartFailed"  #: no worker process can start


class AionError(Exception):
    """Base of every error aion-actors raises on purpose."""


class ConfigError(AionError):
    """A configuration value, file or argument is invalid."""


class PayloadError(AionError, ValueError):
    """A payload is not a msgpack value, is too large or nested too deeply.

    `path` names the offending value in Python subscript form, such as
    `input["items"][3]`, so the caller can find it in their own data.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class CorruptEvent(AionError):
    """Bytes in the store (or a pipe) are not a valid event of this schema."""

    def __init__(
        self,
        problem: str,
        *,
        workflow_id: str | None = None,
        run_id: str | None = None,
        seq: int | None = None,
    ) -> None:
        self.problem = problem
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.seq = seq
        where = _where(workflow_id, run_id, seq)
        super().__init__(
            f"corrupt event{where}: {problem}; the run cannot be replayed past it — "
            "restore the data directory from a backup or terminate the run"
        )


class CorruptStore(AionError):
    """A data directory's files are damaged or lost, so the store refuses to map or read them.

    `path` is the file at fault (usually `<dir>/data.mdb`); `problem` says what is wrong.
    """

    def __init__(self, path: str, problem: str, *, advice: str | None = None) -> None:
        self.path = path
        self.problem = problem
        directory = path.rpartition("/")[0] or "."
        advice = advice or (
            f"restore the data directory from a backup; `aion-actors doctor {directory}` "
            "lists what is damaged"
        )
        super().__init__(f"{path}: {problem}; nothing was changed — {advice}")


class SequenceConflict(AionError):
    """An append's `expected_seq` is not the run's head: another writer got there first."""

    def __init__(
        self, expected: int, found: int, *, workflow_id: str = "", run_id: str = ""
    ) -> None:
        self.expected = expected
        self.found = found
        self.workflow_id = workflow_id
        self.run_id = run_id
        super().__init__(
            f"sequence conflict{_where(workflow_id or None, run_id or None, None)}: "
            f"expected head {expected}, found {found}; nothing was written — "
            "re-read the history and retry, or stop the second writer"
        )


class WorkflowNotFound(AionError, LookupError):
    """No workflow (or run) with that id exists in the store."""

    def __init__(self, workflow_id: str, run_id: str | None = None) -> None:
        self.workflow_id = workflow_id
        self.run_id = run_id
        what = f"workflow {workflow_id!r}"
        if run_id:
            what = f"run {run_id} of {what}"
        super().__init__(f"{what} not found; check the id with `aion-actors runs DIR`")


class WorkflowAlreadyStarted(AionError):
    """A `start` named a workflow_id that already has an open run."""

    def __init__(self, workflow_id: str, run_id: str) -> None:
        self.workflow_id = workflow_id
        self.run_id = run_id
        super().__init__(
            f"workflow {workflow_id!r} already has an open run {run_id}; "
            "signal or wait for it, or start with another workflow_id"
        )


class WorkflowAlreadyRan(WorkflowAlreadyStarted):
    """A `start` with `if_closed="reject"` (or `"allow_if_failed"`, after a run that
    completed) named a workflow_id whose latest run has closed."""

    def __init__(self, workflow_id: str, run_id: str, status: str, policy: str) -> None:
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.status = status
        AionError.__init__(
            self,
            f"workflow {workflow_id!r} already ran (run {run_id} ended {status}) and the "
            f"start policy if_closed={policy!r} refuses a new run; start with another "
            "workflow_id, or with if_closed='allow' or 'use_existing'",
        )


class WorkflowClosed(AionError):
    """A change request (signal, cancel, terminate) reached a run that has already ended."""

    def __init__(
        self,
        workflow_id: str,
        run_id: str,
        status: str,
        what: str,
        ended_at: int | None = None,
    ) -> None:
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.status = status
        #: when it ended (unix ns), if known
        self.ended_at = ended_at
        when = f" at {_iso(ended_at)}" if ended_at else ""
        super().__init__(
            f"workflow {workflow_id!r} (run {run_id}) is closed: it ended {status}{when}; "
            f"nothing was recorded for the {what}"
        )


class WorkflowParked(AionError):
    """`result()` met a parked run: it waits for an operator (`engine.resume()` after a fix)."""

    def __init__(self, workflow_id: str, run_id: str, reason: str) -> None:
        self.workflow_id, self.run_id, self.reason = workflow_id, run_id, reason
        advised = "engine.resume()" in reason  # a reason's own advice is not said twice
        super().__init__(
            f"workflow {workflow_id!r} (run {run_id}) is parked: {reason or 'no reason recorded'}; "
            + ("or " if advised else "fix the cause and call engine.resume(), or ")
            + "wait with result(raise_on_park=False)"
        )


class WorkflowError(AionError):
    """Raised by workflow code to fail its run on purpose, without restarts."""


class WorkflowFailed(AionError):
    """A run ended unsuccessfully; `error` is the recorded `{type, message, traceback?}` map."""

    def __init__(self, workflow_id: str, run_id: str, status: str, error: dict[str, Any]) -> None:
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.status = status
        self.error = error
        super().__init__(
            f"workflow {workflow_id!r} (run {run_id}) ended {status}: "
            f"{error.get('type', 'Error')}: {error.get('message', '')}"
        )


class WorkflowCancelled(WorkflowFailed):
    """A run ended cancelled (a `WorkflowFailed`, so `except WorkflowFailed` still catches it)."""


class WorkflowTimedOut(WorkflowFailed):
    """A run ended timed out: its `execution_timeout` or `run_timeout` ran out (a
    `WorkflowFailed`, so `except WorkflowFailed` still catches it)."""


class NonDeterminismError(AionError):
    """Replay asked for a different command than history recorded at that point."""

    def __init__(
        self,
        workflow_id: str,
        run_id: str,
        seq: int,
        recorded: str,
        requested: str,
        *,
        patch: str | None = None,
    ) -> None:
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.seq = seq
        self.recorded = recorded
        self.requested = requested
        #: the patch whose marker history holds where the code asked for something else
        self.patch = patch
        hint = (
            "hint: if the code did not change, it reads a value that differs on replay — "
            "time.time() or datetime.now(), random.random(), uuid.uuid4() — read ctx.now(), "
            "ctx.random() and ctx.uuid4() instead, which replay what the run saw"
            if patch is None
            else f"hint: this run took patch {patch!r}: add ctx.patched({patch!r}) "
            "(or ctx.deprecate_patch) where this branch changed"
        )
        super().__init__(
            f"non-determinism in workflow {workflow_id!r} (run {run_id}) at seq {seq}: "
            f"history recorded {recorded} but the code asked for {requested}; the run is "
            "parked — restore the previous workflow code, then `engine.resume()` it\n" + hint
        )


class WorkerCrashed(AionError):
    """A worker process died while running an activity attempt (retryable)."""

    def __init__(self, activity: str, exitcode: int | None, signal_name: str | None = None) -> None:
        self.activity = activity
        self.exitcode = exitcode
        self.signal_name = signal_name
        how = f"killed by {signal_name}" if signal_name else f"exit code {exitcode}"
        super().__init__(f"worker process running activity {activity!r} died ({how})")


class ActivityAlreadyClosed(AionError):
    """`complete_activity`/`fail_activity` named an attempt that is not open.

    It was completed or failed already, timed out, superseded by a retry, its run
    ended, or the run never had that activity; nothing was recorded for this call.
    """

    def __init__(
        self, workflow_id: str, run_id: str, activity_id: str, attempt: int, reason: str
    ) -> None:
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.activity_id = activity_id
        self.attempt = attempt
        self.reason = reason
        super().__init__(
            f"activity #{activity_id} attempt {attempt} of workflow {workflow_id!r} "
            f"(run {run_id}) is not open: {reason}; nothing was recorded"
        )


class QueryError(AionError):
    """A query could not be answered (unknown name, handler failed, or it issued a command)."""


class UpdateRejected(AionError):
    """`engine.update` was refused before anything was recorded: its validator raised,
    or the run has no update handler of that name. Retrying the same call is safe."""


class UpdateFailed(AionError):
    """An accepted update's handler raised; `error` is its recorded `{type, message}`."""

    def __init__(self, workflow_id: str, name: str, update_id: str, error: dict[str, Any]) -> None:
        self.workflow_id = workflow_id
        self.name = name
        self.update_id = update_id
        self.error = error
        super().__init__(
            f"update {name!r} (id {update_id}) of workflow {workflow_id!r} failed: "
            f"{error.get('type', 'Error')}: {error.get('message', '')}"
        )


class OperationRefused(AionError, ValueError):
    """`pause`, `unpause`, `reset` or `resume` does not apply to the run in its state now
    (paused already, not paused, parked, closed, not parked, being resumed, or not a point
    a reset can go back to); nothing was recorded."""


class EngineClosed(AionError):
    """The engine was closed; open a new one to continue."""

    def __init__(self) -> None:
        super().__init__("the engine is closed; open a new Engine to continue")


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat(timespec="seconds")


def _where(workflow_id: str | None, run_id: str | None, seq: int | None) -> str:
    parts = []
    if workflow_id is not None:
        parts.append(f"workflow {workflow_id!r}")
    if run_id is not None:
        parts.append(f"run {run_id}")
    if seq is not None:
        parts.append(f"seq {seq}")
    return f" in {', '.join(parts)}" if parts else ""
