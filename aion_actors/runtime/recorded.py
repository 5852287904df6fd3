"""What a run's history holds, indexed for the replay driver.

Commands (activities, timers, signal waits with a timeout, children, requests
to other workflows, patch markers, search attributes) are matched by position against what the
code asks for; outcomes are looked up by the command they answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from aion_actors.core import TimerId, TimerKind
from aion_actors.core import events as ev


class Recorded(NamedTuple):
    """One command as history recorded it: what replay must ask for again (a
    NamedTuple: one per command)."""

    kind: str
    name: str
    key: str
    seq: int

    def describe(self) -> str:
        if self.kind == "timer":
            return "timer (ctx.sleep)"
        if self.kind == "condition":
            return "ctx.wait_condition with a timeout"
        if self.kind == "patch":
            return f"patch marker {self.name!r} (ctx.patched)"
        if self.kind == "attributes":
            return "ctx.set_attributes"
        return f"{self.kind} {self.name!r}"


@dataclass
class Outcomes:
    """Committed outcomes, indexed for the awaits that look them up."""

    activities: dict[str, ev.ActivityCompleted | ev.ActivityFailed] = field(default_factory=dict)
    timers: dict[str, ev.TimerFired | ev.TimerCancelled] = field(default_factory=dict)
    #: by the `child_run_id` of the `ChildStarted` each answers
    children: dict[str, ev.ChildCompleted | ev.ChildFailed] = field(default_factory=dict)
    #: children started and not yet answered, by workflow_id, oldest first
    open_children: dict[str, list[str]] = field(default_factory=dict)
    #: children `ctx.start_child` started, by child run id
    children_running: dict[str, ev.ChildRunStarted] = field(default_factory=dict)
    #: answers to requests made of other workflows, by request id
    externals: dict[str, ev.ExternalRequestDone] = field(default_factory=dict)
    signals: dict[str, list[ev.SignalReceived]] = field(default_factory=dict)
    #: every signal, in the order history recorded them
    ordered_signals: list[ev.SignalReceived] = field(default_factory=list)
    cancel: ev.WorkflowCancelRequested | None = None
    #: accepted updates in history's order, and their recorded answers by update id
    updates: list[ev.UpdateAccepted] = field(default_factory=list)
    update_results: dict[str, ev.UpdateCompleted] = field(default_factory=dict)
    #: activities told of the run's cancellation, by activity id
    activity_cancels: dict[str, ev.ActivityCancelRequested] = field(default_factory=dict)

    def add(self, event: ev.Event) -> bool:
        """Index `event` if it is an outcome; whether it was."""
        index = _INDEX.get(type(event))
        if index is None:
            return False
        index(self, event)
        return True

    def child_closed(self, event: ev.ChildCompleted | ev.ChildFailed) -> None:
        """Histories written before outcomes named their command's run answer the
        oldest open child of the id (a continued child names its last run)."""
        started = self.open_children.get(event.child_workflow_id, [])
        run_id = event.child_run_id
        if run_id not in started and started:
            run_id = started[0]
        if run_id in started:
            started.remove(run_id)
        self.children[run_id] = event


def _activity(outcomes: Outcomes, event: ev.ActivityCompleted | ev.ActivityFailed) -> None:
    outcomes.activities[event.activity_id] = event


def _timer(outcomes: Outcomes, event: ev.TimerFired | ev.TimerCancelled) -> None:
    outcomes.timers.setdefault(event.timer_id, event)


def _child_started(outcomes: Outcomes, event: ev.ChildStarted) -> None:
    outcomes.open_children.setdefault(event.child_workflow_id, []).append(event.child_run_id)


def _signal(outcomes: Outcomes, event: ev.SignalReceived) -> None:
    outcomes.signals.setdefault(event.name, []).append(event)
    outcomes.ordered_signals.append(event)


def _cancel(outcomes: Outcomes, event: ev.WorkflowCancelRequested) -> None:
    if outcomes.cancel is None:
        outcomes.cancel = event


def _child_running(outcomes: Outcomes, event: ev.ChildRunStarted) -> None:
    outcomes.children_running.setdefault(event.child_run_id, event)


def _external_done(outcomes: Outcomes, event: ev.ExternalRequestDone) -> None:
    outcomes.externals.setdefault(event.request_id, event)


def _update(outcomes: Outcomes, event: ev.UpdateAccepted) -> None:
    outcomes.updates.append(event)


def _update_done(outcomes: Outcomes, event: ev.UpdateCompleted) -> None:
    outcomes.update_results.setdefault(event.update_id, event)


def _activity_cancel(outcomes: Outcomes, event: ev.ActivityCancelRequested) -> None:
    outcomes.activity_cancels.setdefault(event.activity_id, event)


#: how each outcome kind is indexed, by its exact class (one lookup per event)
_INDEX: dict[type[ev.Event], Callable[[Outcomes, Any], None]] = {
    ev.ActivityCompleted: _activity,
    ev.ActivityFailed: _activity,
    ev.TimerFired: _timer,
    ev.TimerCancelled: _timer,
    ev.ChildStarted: _child_started,
    ev.ChildCompleted: Outcomes.child_closed,
    ev.ChildFailed: Outcomes.child_closed,
    ev.SignalReceived: _signal,
    ev.WorkflowCancelRequested: _cancel,
    ev.ChildRunStarted: _child_running,
    ev.ExternalRequestDone: _external_done,
    ev.ActivityCancelRequested: _activity_cancel,
    ev.UpdateAccepted: _update,
    ev.UpdateCompleted: _update_done,
}


def recorded_command(event: ev.Event) -> Recorded | None:
    """The command an event records, if it records one (retries do not)."""
    if isinstance(event, ev.ActivityScheduled) and event.attempt == 1:
        return Recorded("activity", event.name, event.activity_id, event.seq)
    if isinstance(event, ev.TimerStarted):
        timer = TimerId.parse(event.timer_id)
        if timer.kind is TimerKind.SIGNAL:
            return Recorded("signal", timer.name, event.timer_id, event.seq)
        if timer.kind is TimerKind.CONDITION:
            return Recorded("condition", "wait_condition", event.timer_id, event.seq)
        return Recorded("timer", "sleep", event.timer_id, event.seq)
    if isinstance(event, ev.ChildStarted):
        return Recorded("child", event.workflow_type, event.child_run_id, event.seq)
    if isinstance(event, ev.ExternalRequested):
        what = f"{event.action} {event.target_workflow_id!r}"
        return Recorded("external", what, event.request_id, event.seq)
    if isinstance(event, ev.PatchApplied):
        return Recorded("patch", event.patch_id, event.patch_id, event.seq)
    if isinstance(event, ev.AttributesSet):
        return Recorded("attributes", "set_attributes", str(event.seq), event.seq)
    return None
