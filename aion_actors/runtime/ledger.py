"""What a run has in flight: activity attempts, open timers and open children.

The machine knows what the workflow awaits; the ledger knows what the
actor must still *do* for it. It is folded from history at start (so a
restarted run re-dispatches unfinished attempts) and from each event the
actor queues, so a duplicate message (a timer reported twice, a stale
activity result) is recognised before anything is recorded twice.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    #: the awaiting workflow was cancelled and the attempt told (`ActivityCancelRequested`)
    cancel_requested: bool = False

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
        for event in history:
            self.apply(event)

    def apply(self, event: ev.Event) -> None:
        if isinstance(event, ev.ActivityScheduled):
            last = self.activities.get(event.activity_id)
            self.activities[event.activity_id] = ActivityState(
                event,
                heartbeat=last.heartbeat if last else None,
                cancel_requested=last.cancel_requested if last else False,
            )
        elif isinstance(event, ev.ActivityHeartbeat | ev.ActivityCancelRequested):
            if (state := self.activities.get(event.activity_id)) is not None:
                if isinstance(event, ev.ActivityHeartbeat):
                    state.heartbeat = event.details
                else:
                    state.cancel_requested = True
        elif isinstance(event, ev.ActivityAttemptFailed):
            state = self.activities.get(event.activity_id)
            if state is not None and event.retry_at is not None:
                state.retry_at = event.retry_at
                state.failed_with = str(event.error.get("type", ""))
        elif isinstance(event, ev.ActivityHandedOff):
            state = self.activities.get(event.activity_id)
            if state is not None and state.scheduled.attempt == event.attempt:
                state.handoff = event
        elif isinstance(event, (ev.ActivityCompleted, ev.ActivityFailed)):
            self.activities.pop(event.activity_id, None)
        elif isinstance(event, ev.TimerStarted):
            self.timers[event.timer_id] = event.fire_at
        elif isinstance(event, (ev.TimerFired, ev.TimerCancelled)):
            self.timers.pop(event.timer_id, None)
        elif isinstance(event, ev.ChildStarted):
            self.children[event.child_run_id] = event
        elif isinstance(event, (ev.ChildCompleted, ev.ChildFailed)):
            self.children.pop(event.child_run_id, None)
        elif isinstance(event, ev.ChildRunStarted):
            self.children_running.add(event.child_run_id)
        elif isinstance(event, ev.ExternalRequested):
            self.externals[event.request_id] = event
        elif isinstance(event, ev.ExternalRequestDone):
            self.externals.pop(event.request_id, None)
        elif isinstance(event, (ev.SignalReceived, ev.WorkflowCancelRequested)):
            if event.request_id is not None:
                self.request_ids.add(event.request_id)
        elif isinstance(event, ev.RunResumed):
            self.closed = False
        elif event.lifecycle and not isinstance(event, ev.WorkflowStarted):
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
    def busy(self) -> bool:
        """True while an activity attempt runs: such a run is not evicted."""
        return any(s.running for s in self.activities.values())
