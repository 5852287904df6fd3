"""What a run has in flight: activity attempts, open timers and open children.

The machine knows what the workflow awaits; the ledger knows what the
actor must still *do* for it. It is folded from history at start (so a
restarted run re-dispatches unfinished attempts) and from each event the
actor queues, so a duplicate message (a timer reported twice, a stale
activity result) is recognised before anything is recorded twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from aion_actors.core import events as ev


@dataclass
class ActivityState:
    """The latest scheduled attempt of one activity, and whether it waits to retry."""

    scheduled: ev.ActivityScheduled
    #: when the next attempt starts, while it waits for one (the retry timer's fire time)
    retry_at: int | None = None
    #: the attempt raised `CompleteLater`: it waits for `engine.complete_activity`, not a
    #: worker (and, with its `timeout_at`, for its own timeout)
    handoff: ev.ActivityHandedOff | None = None
    #: the error type of the latest failed attempt, while the next one waits
    failed_with: str = ""
    #: the details of its last recorded heartbeat, for its next attempt
    heartbeat: Any = None
    #: why the attempt was told to stop (`ActivityCancelRequested.reason`); None: it was not
    cancel_reason: str | None = None

    @property
    def cancel_requested(self) -> bool:
        return self.cancel_reason is not None

    @property
    def handed_off(self) -> bool:
        return self.handoff is not None

    @property
    def waiting_retry(self) -> bool:
        return self.retry_at is not None

    @property
    def running(self) -> bool:
        return self.retry_at is None and not self.handed_off


class Ledger:
    def __init__(self, history: Iterable[ev.Event] = ()) -> None:
        self.activities: dict[str, ActivityState] = {}
        #: ids of the activities that ended (completed or failed): a completion naming an id
        #: in neither this nor `activities` names an activity the run never had
        self.activities_ended: set[str] = set()
        self.timers: dict[str, int] = {}
        #: open children, by the `child_run_id` their `ChildStarted` gave (one workflow_id
        #: may be started again once its first child ended)
        self.children: dict[str, ev.ChildStarted] = {}
        #: children whose start this run has recorded (`ChildRunStarted`), by child run id
        self.children_running: set[str] = set()
        #: requests to other workflows not yet answered, by request id
        self.externals: dict[str, ev.ExternalRequested] = {}
        #: ids of other workflows' requests this run has recorded: never recorded twice
        self.request_ids: set[str] = set()
        self.closed = False
        #: `engine.pause` holds the run's code (`RunPaused`) until `RunUnpaused` (or a resume)
        self.paused = False
        #: `engine.enqueue` holds the run's code (`WorkflowQueued`) until `RunDequeued`
        self.queued = False
        for event in history:
            self.apply(event)

    def apply(self, event: ev.Event) -> None:
        fold = _FOLDS.get(type(event))
        if fold is not None:
            fold(self, event)
        elif event.lifecycle:  # every ending, and `RunParked` (the others have folds)
            self.closed = True

    def child_closed(
        self, event: ev.ChildCompleted | ev.ChildFailed, exact: bool
    ) -> ev.ChildCompleted | ev.ChildFailed | None:
        """What to record for a child's ending: keyed by the `ChildStarted` it answers;
        None if it answers none still open (a repeated report, or the run is closed)."""
        if self.closed:
            return None
        started = self.children.get(event.child_run_id)
        if started is None and not exact:
            wanted = event.child_workflow_id
            started = next(
                (c for c in self.children.values() if c.child_workflow_id == wanted), None
            )
        if started is None:
            return None
        return replace(event, child_run_id=started.child_run_id)

    def fire_times(self) -> list[int]:
        """When each open timer, each activity's `ctx.activity(timeout=)` and each handed-off
        attempt's own timeout fires."""
        deadlines = [s.scheduled.deadline for s in self.activities.values()]
        handoffs = [s.handoff.timeout_at for s in self.activities.values() if s.handoff]
        times = (t for t in (*deadlines, *handoffs) if t is not None)
        return [*self.timers.values(), *times]

    def running_attempts(self) -> list[tuple[str, ActivityState]]:
        """Attempts a worker runs (a handed-off one waits for its completion instead)."""
        return [(aid, s) for aid, s in self.activities.items() if s.running]

    @property
    def held(self) -> bool:
        """Its code may not run now: paused, or waiting in its queue."""
        return self.paused or self.queued

    @property
    def busy(self) -> bool:
        """True while an activity attempt runs: such a run is not evicted."""
        for state in self.activities.values():  # (a loop: this runs for every message)
            if state.retry_at is None and state.handoff is None:
                return True
        return False


def _scheduled(ledger: Ledger, event: ev.ActivityScheduled) -> None:
    last = ledger.activities.get(event.activity_id)
    ledger.activities[event.activity_id] = ActivityState(
        event,
        heartbeat=last.heartbeat if last else None,
        cancel_reason=last.cancel_reason if last else None,
    )


def _heartbeat(ledger: Ledger, event: ev.ActivityHeartbeat) -> None:
    if (state := ledger.activities.get(event.activity_id)) is not None:
        state.heartbeat = event.details


def _cancel_requested(ledger: Ledger, event: ev.ActivityCancelRequested) -> None:
    if (state := ledger.activities.get(event.activity_id)) is not None:
        state.cancel_reason = event.reason


def _attempt_failed(ledger: Ledger, event: ev.ActivityAttemptFailed) -> None:
    state = ledger.activities.get(event.activity_id)
    if state is not None and event.retry_at is not None:
        state.retry_at = event.retry_at
        state.failed_with = str(event.error.get("type", ""))


def _handed_off(ledger: Ledger, event: ev.ActivityHandedOff) -> None:
    state = ledger.activities.get(event.activity_id)
    if state is not None and state.scheduled.attempt == event.attempt:
        state.handoff = event


def _activity_ended(ledger: Ledger, event: ev.ActivityCompleted | ev.ActivityFailed) -> None:
    ledger.activities.pop(event.activity_id, None)
    ledger.activities_ended.add(event.activity_id)


def _timer_started(ledger: Ledger, event: ev.TimerStarted) -> None:
    ledger.timers[event.timer_id] = event.fire_at


def _timer_ended(ledger: Ledger, event: ev.TimerFired | ev.TimerCancelled) -> None:
    ledger.timers.pop(event.timer_id, None)


def _child_started(ledger: Ledger, event: ev.ChildStarted) -> None:
    ledger.children[event.child_run_id] = event


def _child_ended(ledger: Ledger, event: ev.ChildCompleted | ev.ChildFailed) -> None:
    ledger.children.pop(event.child_run_id, None)


def _child_running(ledger: Ledger, event: ev.ChildRunStarted) -> None:
    ledger.children_running.add(event.child_run_id)


def _external_requested(ledger: Ledger, event: ev.ExternalRequested) -> None:
    ledger.externals[event.request_id] = event


def _external_done(ledger: Ledger, event: ev.ExternalRequestDone) -> None:
    ledger.externals.pop(event.request_id, None)


def _request_taken(ledger: Ledger, event: ev.SignalReceived | ev.WorkflowCancelRequested) -> None:
    if event.request_id is not None:
        ledger.request_ids.add(event.request_id)


def _started(ledger: Ledger, event: ev.WorkflowStarted) -> None:
    """A lifecycle event that opens, not closes."""


def _resumed(ledger: Ledger, event: ev.RunResumed) -> None:
    ledger.closed = ledger.paused = False


def _paused(ledger: Ledger, event: ev.RunPaused | ev.RunUnpaused) -> None:
    ledger.paused = isinstance(event, ev.RunPaused)


def _queued(ledger: Ledger, event: ev.WorkflowQueued | ev.RunDequeued) -> None:
    ledger.queued = isinstance(event, ev.WorkflowQueued)


#: how each event kind changes a ledger, by its exact class (one lookup per event)
_FOLDS: dict[type[ev.Event], Callable[[Ledger, Any], None]] = {
    ev.ActivityScheduled: _scheduled,
    ev.ActivityHeartbeat: _heartbeat,
    ev.ActivityCancelRequested: _cancel_requested,
    ev.ActivityAttemptFailed: _attempt_failed,
    ev.ActivityHandedOff: _handed_off,
    ev.ActivityCompleted: _activity_ended,
    ev.ActivityFailed: _activity_ended,
    ev.TimerStarted: _timer_started,
    ev.TimerFired: _timer_ended,
    ev.TimerCancelled: _timer_ended,
    ev.ChildStarted: _child_started,
    ev.ChildCompleted: _child_ended,
    ev.ChildFailed: _child_ended,
    ev.ChildRunStarted: _child_running,
    ev.ExternalRequested: _external_requested,
    ev.ExternalRequestDone: _external_done,
    ev.SignalReceived: _request_taken,
    ev.WorkflowCancelRequested: _request_taken,
    ev.WorkflowStarted: _started,
    ev.RunResumed: _resumed,
    ev.RunPaused: _paused,
    ev.RunUnpaused: _paused,
    ev.WorkflowQueued: _queued,
    ev.RunDequeued: _queued,
}
