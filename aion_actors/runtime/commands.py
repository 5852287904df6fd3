"""What workflow code can await: plain command objects the RunActor interprets.

An `await ctx.<command>` yields one of these to the actor driving the
coroutine and receives the recorded outcome back; nothing here runs a side
effect. Commands that record an event when issued (activities, timers,
children) are matched against history on replay by `kind` and `name`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from aion_actors.core import PayloadConverter, PayloadError, WorkflowError, check_payload
from aion_actors.core import payloads as conv
from aion_actors.core.codec import oversized


class _Awaitable:
    """Yield self to the driver; the driver sends back the outcome."""

    def __await__(self) -> Generator[Any, Any, Any]:
        return (yield self)


@dataclass(frozen=True)
class Measured:
    """A payload workflow code made: what it is, and its size encoded.

    Its size is checked against the payload limit when the command carrying it is
    issued and history has not recorded it: a recorded one replays whatever the
    limit is now (it was checked when it was recorded, perhaps under a larger one).
    """

    what: str
    size: int

    def refused(self, max_bytes: int | None) -> PayloadError | None:
        """The error for recording it under `max_bytes` (None: no limit), or None."""
        if max_bytes is None or self.size <= max_bytes:
            return None
        return oversized(self.what, self.size, max_bytes)


def measure(converter: PayloadConverter | None, value: Any, what: str) -> tuple[Any, Measured]:
    """`value` as the payload to record (converted by `converter`), refused if it cannot
    be one, and its size, for the command that carries it to check once issued."""
    if converter is not None:
        value = conv.encode(converter, value, what)
    return value, Measured(what, len(check_payload(value, what, max_bytes=None)))


@dataclass(frozen=True, eq=False)
class ActivityCommand(_Awaitable):
    name: str
    args: tuple[Any, ...]
    timeout: float | None = None
    #: the activity's return annotation, for the payload converter (None: as recorded)
    returns: Any = None
    #: the arguments' size, checked once the command is issued
    measured: Measured | None = None

    kind = "activity"


@dataclass(frozen=True, eq=False)
class TimerCommand(_Awaitable):
    seconds: float

    kind = "timer"
    name = "sleep"


@dataclass(frozen=True, eq=False)
class SignalCommand(_Awaitable):
    """Wait for the next signal of `name`; with a timeout it records a timer."""

    name: str
    timeout: float | None

    kind = "signal"


@dataclass(frozen=True, eq=False)
class ChildCommand(_Awaitable):
    name: str
    args: tuple[Any, ...]
    workflow_id: str | None
    on_parent_close: str = "cancel"
    #: the child workflow's return annotation, for the payload converter (None: as recorded)
    returns: Any = None
    #: from `ctx.start_child`: resumes with a handle once the child has started
    handle: bool = False
    #: seconds: the child's whole chain (from this command on), and each of its runs
    execution_timeout: float | None = None
    run_timeout: float | None = None
    #: the arguments' size, checked once the command is issued
    measured: Measured | None = None

    kind = "child"

    def deadline(self, fire_at: Callable[[float], int]) -> int | None:
        """The child's execution deadline, by the workflow's clock (`fire_at(seconds)`)."""
        return None if self.execution_timeout is None else fire_at(self.execution_timeout)


@dataclass(frozen=True, eq=False)
class ChildResultCommand(_Awaitable):
    """Wait for the outcome of a child started with `ctx.start_child`; records nothing."""

    child_workflow_id: str
    child_run_id: str
    returns: Any = None

    kind = "child result"
    name = "result"


@dataclass(frozen=True, eq=False)
class ExternalCommand(_Awaitable):
    """Ask another workflow's run to take a signal or to cancel; resumes once it recorded it."""

    action: str
    workflow_id: str
    run_id: str | None
    name: str = ""
    payload: Any = None
    reason: str = ""
    #: the signal payload's size, checked once the command is issued
    measured: Measured | None = None

    kind = "external"

    @property
    def target(self) -> str:
        """What it asks of whom, as history names it (`signal 'order-7'`)."""
        return f"{self.action} {self.workflow_id!r}"


@dataclass(frozen=True, eq=False)
class ConditionCommand(_Awaitable):
    """Wait until `predicate()` is true; with a timeout it records a timer."""

    predicate: Callable[[], object]
    timeout: float | None

    kind = "condition"
    name = "wait_condition"


PartCommand = (
    ActivityCommand
    | TimerCommand
    | SignalCommand
    | ChildCommand
    | ConditionCommand
    | ChildResultCommand
    | ExternalCommand
)


@dataclass(frozen=True, eq=False)
class GatherCommand(_Awaitable):
    """Several commands issued at once; resumes with their results in order."""

    parts: tuple[PartCommand, ...]
    #: collect failures in place of results, instead of raising the first
    return_exceptions: bool = False

    kind = "gather"

    def __await__(self) -> Generator[Any, Any, Any]:
        if not self.parts:  # as `asyncio.gather()`: nothing to wait for, nothing recorded
            return []
        return (yield self)


@dataclass(frozen=True, eq=False)
class WaitFirstCommand(_Awaitable):
    """Several commands issued at once; resumes with `(index, result)` of the first to end."""

    parts: tuple[PartCommand, ...]

    kind = "wait_first"


Command = PartCommand | GatherCommand | WaitFirstCommand


class ActivityError(WorkflowError):
    """An activity failed for good (non-retryable, or out of attempts).

    Uncaught, it fails the workflow at once: replaying would only meet the
    same recorded failure again, so a restart could not help.
    """

    def __init__(self, activity: str, error: dict[str, Any]) -> None:
        self.activity = activity
        self.error = error
        super().__init__(
            f"activity {activity!r} failed: "
            f"{error.get('type', 'Error')}: {error.get('message', '')}"
        )


class ActivityTimeout(ActivityError):
    """`ctx.activity(..., timeout=)` ran out: no attempt finished before the deadline.

    An attempt still running goes on to its end (or its own `@activity(timeout=)`),
    and its result is discarded.
    """


class ChildWorkflowError(WorkflowError):
    """A child workflow ended unsuccessfully; uncaught, it fails the parent too."""

    def __init__(self, workflow_id: str, error: dict[str, Any]) -> None:
        self.workflow_id = workflow_id
        self.error = error
        super().__init__(
            f"child workflow {workflow_id!r} failed: "
            f"{error.get('type', 'Error')}: {error.get('message', '')}"
        )


class ExternalWorkflowError(WorkflowError):
    """A signal or cancel for another workflow could not be recorded (no open run, or it
    closed first); uncaught, it fails the workflow."""

    def __init__(self, workflow_id: str, action: str, error: dict[str, Any]) -> None:
        self.workflow_id = workflow_id
        self.error = error
        super().__init__(
            f"{action} of workflow {workflow_id!r} was not recorded: "
            f"{error.get('type', 'Error')}: {error.get('message', '')}"
        )


class SignalTimeout(WorkflowError):
    """`ctx.wait_signal(name, timeout=...)` saw no signal in time."""


class ConditionTimeout(WorkflowError):
    """`ctx.wait_condition(predicate, timeout=...)` was still false when the time ran out."""


class ForeignAwaitError(WorkflowError):
    """Workflow code awaited something that is not a `ctx` command."""


class EngineCallInWorkflow(WorkflowError):
    """Workflow code called the engine's client API (`engine.start`, ...): it would run again
    on every replay; the message names the ctx command that does it durably."""


class ContinueAsNew(BaseException):
    """Raised by `ctx.continue_as_new`; closes this run and opens the next one.

    A BaseException so that a workflow's broad `except Exception` cannot
    swallow it by accident.
    """

    def __init__(self, next_args: tuple[Any, ...]) -> None:
        super().__init__("continue-as-new")
        self.next_args = next_args


class Cancelled(BaseException):
    """Raised at the workflow's current await when the run is cancelled.

    The workflow may catch it to compensate (it can still run activities);
    uncaught, the run ends `WorkflowCancelled`.
    """
