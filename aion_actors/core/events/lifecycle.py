"""How a run starts and ends, and what supervision records about it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from aion_actors.core.events._base import ErrorInfo, Event

# Lifecycle


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkflowStarted(Event):
    """A run's first event. The timeouts (absent in older records: none) are durable
    here and in the timer index: `execution_deadline` (unix ns) bounds the whole
    workflow_id chain and is carried unchanged into each continued run;
    `run_deadline` bounds this run, set from `run_timeout` (seconds), which each
    continued run gets again. `memo` (absent in older records: none) is what the
    starter attached to the run, unindexed, carried into each continued run."""

    workflow_type: str
    input: Any
    run_id: str
    version: str
    parent: dict[str, Any] | None = None
    execution_deadline: int | None = None
    run_deadline: int | None = None
    run_timeout: float | None = None
    memo: dict[str, Any] | None = None
    #: set on a run `engine.reset` started: `{"run_id", "seq", "reason", "at", "seed"}` —
    #: the run it went on from, at which seq, why, when (unix ns; this event keeps the
    #: original's `recorded_at`) and whose ids seed its randomness (the first run's)
    reset_from: dict[str, Any] | None = None
    #: set on a run continue-as-new started (absent in older records: none): the run_id
    #: of the run it continued from, so the chain can be walked back (an update retried
    #: with its update_id finds the answer a predecessor recorded; a reset keeps it)
    continued_from: str | None = None
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
