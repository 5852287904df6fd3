"""The event kinds of a run's history, named as they are on disk.

Every event is a frozen dataclass built with keyword arguments. `seq` and
`recorded_at` (unix ns) are stamped when the event is appended; a freshly
built event carries 0 for both. Payload fields (`input`, `result`,
`payload`) hold msgpack values; errors are `{type, message, traceback?}` maps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

ErrorInfo = dict[str, Any]


@dataclass(frozen=True, kw_only=True, slots=True)
class Event:
    """Base of every event: its place in the run's history and when it was recorded."""

    seq: int = 0
    recorded_at: int = 0

    #: lifecycle events decide the projected status; supervision ones may too.
    lifecycle: ClassVar[bool] = False

    @property
    def kind(self) -> str:
        return type(self).__name__


# Lifecycle


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkflowStarted(Event):
    """A run's first event. The timeouts (absent in older records: none) are durable
    here and in the timer index: `execution_deadline` (unix ns) bounds the whole
    workflow_id chain and is carried unchanged into each continued run;
    `run_deadline` bounds this run, set from `run_timeout` (seconds), which each
    continued run gets again."""

    workflow_type: str
    input: Any
    run_id: str
    version: str
    parent: dict[str, Any] | None = None
    execution_deadline: int | None = None
    run_deadline: int | None = None
    run_timeout: float | None = None
    lifecycle: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkflowCompleted(Event):
    result: Any = None
    lifecycle: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkflowFailed(Event):
    error: ErrorInfo
    lifecycle: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkflowCancelRequested(Event):
    reason: str = ""
    #: set when another workflow asked (`ctx.external(id).cancel()`): its request, recorded once
    request_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkflowCancelled(Event):
    reason: str = ""
    lifecycle: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkflowTerminated(Event):
    reason: str = ""
    lifecycle: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkflowTimedOut(Event):
    """The run's deadline passed: `timeout` says which, "execution" or "run"."""

    timeout: str = ""
    reason: str = ""
    lifecycle: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkflowContinuedAsNew(Event):
    next_run_id: str
    input: Any
    lifecycle: ClassVar[bool] = True


# Supervision: visible in history, invisible to replay


@dataclass(frozen=True, kw_only=True, slots=True)
class RunCrashed(Event):
    pid: int
    error: ErrorInfo
    traceback: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class RunRestarted(Event):
    pid: int
    attempt: int
    backoff: float = 0.0


@dataclass(frozen=True, kw_only=True, slots=True)
class RunParked(Event):
    reason: str
    lifecycle: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True, slots=True)
class RunResumed(Event):
    lifecycle: ClassVar[bool] = True


# Activities


@dataclass(frozen=True, kw_only=True, slots=True)
class ActivityScheduled(Event):
    """One attempt of an activity; `deadline` (unix ns), from `ctx.activity(timeout=)`,
    bounds all its attempts together and is carried by each of them."""

    activity_id: str
    name: str
    input: Any
    attempt: int = 1
    deadline: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ActivityCompleted(Event):
    activity_id: str
    result: Any = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ActivityAttemptFailed(Event):
    activity_id: str
    attempt: int
    error: ErrorInfo
    retry_at: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ActivityHandedOff(Event):
    """The attempt raised `CompleteLater`: it stays open, never run again, until
    `engine.complete_activity` / `fail_activity` (or the activity's deadline) closes it.
    An attempt with a `@activity(timeout=)` (`timeout`, seconds) keeps its clock:
    `timeout_at` (unix ns; absent in older records: none) is when the executor would
    have ended it, durable here and in the timer index; then it fails `AttemptTimeout`."""

    activity_id: str
    attempt: int
    timeout: float | None = None
    timeout_at: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ActivityFailed(Event):
    activity_id: str
    error: ErrorInfo


@dataclass(frozen=True, kw_only=True, slots=True)
class ActivityHeartbeat(Event):
    """The latest details an attempt gave `heartbeat()`, handed to the activity's next
    attempt (throttled: at most one per attempt per heartbeat interval)."""

    activity_id: str
    attempt: int
    details: Any = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ActivityCancelRequested(Event):
    """The awaiting workflow was cancelled: the running attempt is told. `mode` is the
    activity's `cancel=` at the time: "wait" holds the workflow's `Cancelled` until the
    activity ends, "try" does not."""

    activity_id: str
    mode: str = "try"


# Timers


@dataclass(frozen=True, kw_only=True, slots=True)
class TimerStarted(Event):
    timer_id: str
    fire_at: int


@dataclass(frozen=True, kw_only=True, slots=True)
class TimerFired(Event):
    timer_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class TimerCancelled(Event):
    timer_id: str


# Signals


@dataclass(frozen=True, kw_only=True, slots=True)
class SignalReceived(Event):
    name: str
    payload: Any = None
    #: set when another workflow sent it (`ctx.external(id).signal()`): its request, recorded once
    request_id: str | None = None


# Requests to other workflows


@dataclass(frozen=True, kw_only=True, slots=True)
class ExternalRequested(Event):
    """The workflow asks another workflow's open run (or `target_run_id`) to take a signal
    (`action` "signal") or to cancel ("cancel"); answered by `ExternalRequestDone`."""

    request_id: str
    target_workflow_id: str
    action: str
    target_run_id: str | None = None
    name: str = ""
    payload: Any = None
    reason: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class ExternalRequestDone(Event):
    """The target recorded the request (`error` None), or could not take it."""

    request_id: str
    error: ErrorInfo | None = None


# Code changes


@dataclass(frozen=True, kw_only=True, slots=True)
class PatchApplied(Event):
    """`ctx.patched(patch_id)` answered True where no history said otherwise: the run
    takes the patched branch. A command in the run's positional sequence (it takes the
    place of the next command), so replay finds it where the code asks again."""

    patch_id: str


# Updates


@dataclass(frozen=True, kw_only=True, slots=True)
class UpdateAccepted(Event):
    """`engine.update` passed its validator: the handler `name` runs on `payload` at this
    place in history (again on replay), answered once by `UpdateCompleted`."""

    update_id: str
    name: str
    payload: Any = None


@dataclass(frozen=True, kw_only=True, slots=True)
class UpdateCompleted(Event):
    """The handler of accepted update `update_id` returned `result` or raised `error`."""

    update_id: str
    result: Any = None
    error: ErrorInfo | None = None


# Children


@dataclass(frozen=True, kw_only=True, slots=True)
class ChildStarted(Event):
    child_workflow_id: str
    child_run_id: str
    workflow_type: str
    #: the child's arguments, so a parent recovering from a crash between this
    #: event and the child's WorkflowStarted can still start the child.
    input: Any = None
    #: "cancel" (default): cancelling the parent cancels this child; "abandon": it runs on.
    on_parent_close: str = "cancel"
    #: the child's timeouts (see `WorkflowStarted`): its chain's deadline, set by the
    #: parent's clock when it issued the command, and the timeout of each of its runs
    execution_deadline: int | None = None
    run_timeout: float | None = None
    #: from `ctx.start_child`: the parent records `ChildRunStarted` once the child has started
    confirm: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class ChildRunStarted(Event):
    """The child a `ChildStarted` (with `confirm`) asked for has started."""

    child_workflow_id: str
    child_run_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ChildCompleted(Event):
    child_workflow_id: str
    child_run_id: str
    result: Any = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ChildFailed(Event):
    child_workflow_id: str
    child_run_id: str
    error: ErrorInfo


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        WorkflowStarted,
        WorkflowCompleted,
        WorkflowFailed,
        WorkflowCancelRequested,
        WorkflowCancelled,
        WorkflowTerminated,
        WorkflowTimedOut,
        WorkflowContinuedAsNew,
        RunCrashed,
        RunRestarted,
        RunParked,
        RunResumed,
        ActivityScheduled,
        ActivityCompleted,
        ActivityAttemptFailed,
        ActivityHandedOff,
        ActivityFailed,
        ActivityHeartbeat,
        ActivityCancelRequested,
        TimerStarted,
        TimerFired,
        TimerCancelled,
        SignalReceived,
        ExternalRequested,
        ExternalRequestDone,
        PatchApplied,
        UpdateAccepted,
        UpdateCompleted,
        ChildStarted,
        ChildRunStarted,
        ChildCompleted,
        ChildFailed,
    )
}

#: events that record what happened to the run, not what its code asked for;
#: replay skips them when matching commands.
SUPERVISION_EVENTS: tuple[type[Event], ...] = (RunCrashed, RunRestarted, RunParked, RunResumed)

#: events after which the run's children started with on_parent_close="cancel" are cancelled
CANCELS_CHILDREN: tuple[type[Event], ...] = (
    WorkflowCancelRequested,
    WorkflowTerminated,
    WorkflowTimedOut,
)

#: the events that close a run for good: nothing is ever recorded after one
ENDINGS: tuple[type[Event], ...] = (
    WorkflowCompleted,
    WorkflowFailed,
    WorkflowCancelled,
    WorkflowTerminated,
    WorkflowTimedOut,
    WorkflowContinuedAsNew,
)


def error_info(exc: BaseException, *, traceback: str | None = None) -> ErrorInfo:
    """The on-disk form of an exception: its class name and message, never a pickle."""
    info: ErrorInfo = {"type": type(exc).__name__, "message": str(exc)}
    if traceback:
        info["traceback"] = traceback
    return info
