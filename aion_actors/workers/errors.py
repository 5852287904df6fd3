"""Errors that only executors produce; their class names are the recorded error types."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from aion_actors.core import (
    ACTIVITY_UNAVAILABLE,
    WORKER_START_FAILED,
    AionError,
    ConfigError,
    PayloadError,
    check_payload,
    exception_message,
)


class AttemptTimeout(AionError):
    """An activity attempt ran past its `@activity(timeout=)` (retryable, like a crash).

    Not `ActivityTimeout`, which a workflow's await raises when the whole
    activity ran past `ctx.activity(timeout=)`.
    """

    def __init__(self, activity: str, timeout: float, consequence: str) -> None:
        self.activity = activity
        self.timeout = timeout
        super().__init__(f"activity {activity!r} exceeded its {timeout:g} s timeout; {consequence}")


class ActivityHeartbeatTimeout(AionError):
    """An attempt sent no heartbeat within its `@activity(heartbeat_timeout=)` (retryable).

    On the process executor its worker is killed and replaced; on the thread
    executor its late result is dropped.
    """

    def __init__(self, activity: str, heartbeat_timeout: float, consequence: str) -> None:
        self.activity = activity
        self.heartbeat_timeout = heartbeat_timeout
        super().__init__(
            f"activity {activity!r} sent no heartbeat for {heartbeat_timeout:g} s "
            f"(its heartbeat_timeout); {consequence}"
        )


class CancelReason(StrEnum):
    """Why an attempt is told to stop: recorded in `ActivityCancelRequested.reason` (its
    value) and said by the `ActivityCancelled` its `heartbeat()` raises."""

    WORKFLOW_CANCELLED = "workflow_cancelled"
    LOST_WAIT_FIRST = "lost_wait_first"
    DEADLINE_PASSED = "deadline_passed"
    ATTEMPT_TIMED_OUT = "attempt_timed_out"
    HEARTBEAT_TIMED_OUT = "heartbeat_timed_out"
    ATTEMPT_ENDED = "attempt_ended"

    @classmethod
    def recorded(cls, value: str) -> CancelReason:
        """The reason a history recorded (one this code does not know: a cancelled workflow,
        what every request meant before reasons were recorded)."""
        try:
            return cls(value)
        except ValueError:
            return cls.WORKFLOW_CANCELLED

    @property
    def text(self) -> str:
        return _CANCEL_TEXT[self]


_CANCEL_TEXT: dict[CancelReason, str] = {
    CancelReason.WORKFLOW_CANCELLED: "the workflow awaiting it was cancelled",
    CancelReason.LOST_WAIT_FIRST: "its await lost a ctx.wait_first (another command ended first)",
    CancelReason.DEADLINE_PASSED: "its ctx.activity(timeout=) passed",
    CancelReason.ATTEMPT_TIMED_OUT: "this attempt timed out (its @activity timeout)",
    CancelReason.HEARTBEAT_TIMED_OUT: "this attempt sent no heartbeat within its heartbeat_timeout",
    CancelReason.ATTEMPT_ENDED: "this attempt has ended already (its executor closed)",
}


class ActivityCancelled(AionError):
    """The attempt was told to stop; `reason` (a `CancelReason`) says why.

    Raised by `current_attempt().heartbeat()` once cancellation is requested (its
    awaiting workflow was cancelled, or its await lost a `ctx.wait_first`) or once
    the attempt ended without it (it timed out); let it propagate (after cleaning
    up) to acknowledge. A cancelled activity is never retried. Also the recorded
    error type of an attempt that was cancelled before it ran, or killed for
    ignoring its cancellation.
    """

    def __init__(
        self,
        activity: str = "",
        detail: str = "",
        reason: CancelReason = CancelReason.WORKFLOW_CANCELLED,
    ) -> None:
        self.activity = activity
        self.reason = reason
        what = f"activity {activity!r}" if activity else "the activity"
        super().__init__(f"{what} was cancelled: {reason.text}" + (f"; {detail}" if detail else ""))


class ExecutorClosed(AionError):
    """The executor was closed before the attempt finished; it never produced a result."""

    def __init__(self, executor: str, activity: str | None = None) -> None:
        self.executor = executor
        self.activity = activity
        what = f"; the attempt of activity {activity!r} did not finish" if activity else ""
        super().__init__(f"the {executor} executor is closed{what}")


class WorkerStartFailed(AionError):
    """The pool cannot start worker processes, so no attempt can run (names the culprit).

    Delivered only once the pool judged the failure permanent or its restart
    window exhausted (see `WorkerPool`); never retried (`FINAL_ERRORS`).
    `consequence` says what the pool does meanwhile.
    """

    def __init__(self, detail: str, consequence: str) -> None:
        self.detail = detail
        super().__init__(f"activity worker processes cannot start: {detail}; {consequence}")


class ActivityUnavailable(ConfigError):
    """This activity cannot run in a worker process; the others still can (never retried)."""

    def __init__(self, activity: str, reason: str, advice: str) -> None:
        self.activity = activity
        self.reason = reason
        super().__init__(
            f"activity {activity!r} cannot run in a worker process: {reason}; {advice}"
        )


#: error types another attempt would meet again at once: an attempt failing with
#: one of these fails its activity whatever its `RetryPolicy` says.
FINAL_ERRORS = frozenset({ACTIVITY_UNAVAILABLE, WORKER_START_FAILED})


def unrecordable_result(activity: str, result: Any, exc: Exception) -> PayloadError:
    """Why `result` cannot cross a pipe or be recorded, naming the activity and the path."""
    return _unrecordable(result, "result", f"returned by activity {activity!r}", exc)


def oversized_result(activity: str, size: int, limit: int) -> PayloadError:
    """A result over the engine's payload limit, naming the activity and the limit."""
    return PayloadError(
        "result",
        f"encodes to {size} bytes, over the {limit}-byte payload limit; store large data "
        f"elsewhere and pass a reference (returned by activity {activity!r})",
    )


def unrecordable_arguments(activity: str, args: Any, exc: Exception) -> PayloadError:
    """Why `args` cannot cross a pipe or be recorded, naming the activity and the path."""
    return _unrecordable(list(args), "args", f"arguments of activity {activity!r}", exc)


def _unrecordable(value: Any, root: str, whose: str, exc: Exception) -> PayloadError:
    advice = f"{whose}; use only msgpack values"
    try:
        check_payload(value, root)
    except PayloadError as precise:
        return PayloadError(precise.path, f"{precise.problem} ({advice})")
    return PayloadError(root, f"cannot be encoded: {exception_message(exc)} ({advice})")
