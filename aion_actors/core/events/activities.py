"""Activities: scheduled, attempted, handed off, completed or failed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aion_actors.core.events._base import ErrorInfo, Event

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
    """The running attempt is told to stop. `mode` is the activity's `cancel=` at the time:
    "wait" holds the workflow's `Cancelled` until the activity ends, "try" does not.
    `reason` (a `CancelReason` value) is why: "workflow_cancelled" (the awaiting workflow
    was; also what a history from before reasons were recorded means) or
    "lost_wait_first" (another command of its `ctx.wait_first` ended first)."""

    activity_id: str
    mode: str = "try"
    reason: str = "workflow_cancelled"
