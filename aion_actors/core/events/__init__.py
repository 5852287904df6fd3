"""The event kinds of a run's history, named as they are on disk.

Every event is a frozen dataclass built with keyword arguments. `seq` and
`recorded_at` (unix ns) are stamped when the event is appended; a freshly
built event carries 0 for both. Payload fields (`input`, `result`,
`payload`) hold msgpack values; errors are `{type, message, traceback?}` maps.
The kinds live in one module per subject; `EVENT_TYPES` names every one.
"""

from __future__ import annotations

from aion_actors.core.events._base import ErrorInfo, Event, error_info, exception_message
from aion_actors.core.events.activities import (
    ActivityAttemptFailed,
    ActivityCancelRequested,
    ActivityCompleted,
    ActivityFailed,
    ActivityHandedOff,
    ActivityHeartbeat,
    ActivityScheduled,
)
from aion_actors.core.events.children import (
    ChildCompleted,
    ChildFailed,
    ChildRunStarted,
    ChildStarted,
)
from aion_actors.core.events.lifecycle import (
    RunCrashed,
    RunParked,
    RunRestarted,
    RunResumed,
    WorkflowCancelled,
    WorkflowCancelRequested,
    WorkflowCompleted,
    WorkflowContinuedAsNew,
    WorkflowFailed,
    WorkflowStarted,
    WorkflowTerminated,
    WorkflowTimedOut,
)
from aion_actors.core.events.messages import (
    ExternalRequestDone,
    ExternalRequested,
    PatchApplied,
    SignalReceived,
    TimerCancelled,
    TimerFired,
    TimerStarted,
    UpdateAccepted,
    UpdateCompleted,
)
from aion_actors.core.events.operations import RunPaused, RunUnpaused, WorkflowReset
from aion_actors.core.events.queues import RunDequeued, WorkflowQueued
from aion_actors.core.events.visibility import AttributesSet

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
        RunPaused,
        RunUnpaused,
        WorkflowReset,
        AttributesSet,
        WorkflowQueued,
        RunDequeued,
    )
}

#: events that record what happened to the run, not what its code asked for;
#: replay skips them when matching commands.
SUPERVISION_EVENTS: tuple[type[Event], ...] = (
    RunCrashed,
    RunRestarted,
    RunParked,
    RunResumed,
    RunPaused,
    RunUnpaused,
    WorkflowQueued,
    RunDequeued,
)

#: events after which the run's children started with on_parent_close="cancel" are cancelled
CANCELS_CHILDREN: tuple[type[Event], ...] = (
    WorkflowCancelRequested,
    WorkflowTerminated,
    WorkflowTimedOut,
)

#: lifecycle events after which the run is open and not parked: its actor goes on
HOLDS_OPEN: tuple[type[Event], ...] = (
    WorkflowStarted,
    RunResumed,
    RunPaused,
    RunUnpaused,
    WorkflowQueued,
    RunDequeued,
)

#: the events that close a run for good: nothing is ever recorded after one
ENDINGS: tuple[type[Event], ...] = (
    WorkflowCompleted,
    WorkflowFailed,
    WorkflowCancelled,
    WorkflowTerminated,
    WorkflowTimedOut,
    WorkflowContinuedAsNew,
    WorkflowReset,
)

__all__ = [
    "CANCELS_CHILDREN",
    "ENDINGS",
    "EVENT_TYPES",
    "HOLDS_OPEN",
    "SUPERVISION_EVENTS",
    "ActivityAttemptFailed",
    "ActivityCancelRequested",
    "ActivityCompleted",
    "ActivityFailed",
    "ActivityHandedOff",
    "ActivityHeartbeat",
    "ActivityScheduled",
    "AttributesSet",
    "ChildCompleted",
    "ChildFailed",
    "ChildRunStarted",
    "ChildStarted",
    "ErrorInfo",
    "Event",
    "ExternalRequestDone",
    "ExternalRequested",
    "PatchApplied",
    "RunCrashed",
    "RunDequeued",
    "RunParked",
    "RunPaused",
    "RunRestarted",
    "RunResumed",
    "RunUnpaused",
    "SignalReceived",
    "TimerCancelled",
    "TimerFired",
    "TimerStarted",
    "UpdateAccepted",
    "UpdateCompleted",
    "WorkflowCancelRequested",
    "WorkflowCancelled",
    "WorkflowCompleted",
    "WorkflowContinuedAsNew",
    "WorkflowFailed",
    "WorkflowQueued",
    "WorkflowReset",
    "WorkflowStarted",
    "WorkflowTerminated",
    "WorkflowTimedOut",
    "error_info",
    "exception_message",
]
