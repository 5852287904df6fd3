"""Status is projected from history: the last lifecycle event decides."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from aion_actors.core import events as ev


class WorkflowStatus(enum.StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TERMINATED = "terminated"
    TIMED_OUT = "timed_out"
    CONTINUED_AS_NEW = "continued_as_new"
    PARKED = "parked"
    #: open, its code held by `engine.pause` until `engine.unpause`
    PAUSED = "paused"
    #: closed by `engine.reset`: a new run of its workflow_id went on from its history
    RESET = "reset"
    #: open, enqueued (`engine.enqueue`): its code waits for a slot in its queue
    QUEUED = "queued"

    @property
    def is_terminal(self) -> bool:
        return self not in _OPEN

    @property
    def names_next_run(self) -> bool:
        """Closed into another run of its workflow_id (continue-as-new, reset), which its
        closing event names: waits and requests by workflow_id follow to it."""
        return self in _SUCCEEDED


_OPEN = frozenset(
    {WorkflowStatus.RUNNING, WorkflowStatus.PARKED, WorkflowStatus.PAUSED, WorkflowStatus.QUEUED}
)
_SUCCEEDED = frozenset({WorkflowStatus.CONTINUED_AS_NEW, WorkflowStatus.RESET})


_STATUS_OF: dict[type[ev.Event], WorkflowStatus] = {
    ev.WorkflowStarted: WorkflowStatus.RUNNING,
    ev.RunResumed: WorkflowStatus.RUNNING,
    ev.WorkflowCompleted: WorkflowStatus.COMPLETED,
    ev.WorkflowFailed: WorkflowStatus.FAILED,
    ev.WorkflowCancelled: WorkflowStatus.CANCELLED,
    ev.WorkflowTerminated: WorkflowStatus.TERMINATED,
    ev.WorkflowTimedOut: WorkflowStatus.TIMED_OUT,
    ev.WorkflowContinuedAsNew: WorkflowStatus.CONTINUED_AS_NEW,
    ev.RunParked: WorkflowStatus.PARKED,
    ev.RunPaused: WorkflowStatus.PAUSED,
    ev.RunUnpaused: WorkflowStatus.RUNNING,
    ev.WorkflowReset: WorkflowStatus.RESET,
    ev.WorkflowQueued: WorkflowStatus.QUEUED,
    ev.RunDequeued: WorkflowStatus.RUNNING,
}


def next_status(current: WorkflowStatus, event: ev.Event) -> WorkflowStatus:
    """Fold one event into a status; terminal statuses never change."""
    if current.is_terminal:
        return current
    return _STATUS_OF.get(type(event), current)


def status_from_events(events: Iterable[ev.Event]) -> WorkflowStatus:
    status = WorkflowStatus.RUNNING
    for event in events:
        status = next_status(status, event)
    return status
