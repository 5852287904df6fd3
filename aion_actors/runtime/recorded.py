"""What a run's history holds, indexed for the replay driver.

Commands (activities, timers, signal waits with a timeout, children) are
matched by position against what the code asks for; outcomes are looked up
by the command they answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aion_actors.core import TimerId, TimerKind
from aion_actors.core import events as ev


@dataclass(frozen=True)
class Recorded:
    """One command as history recorded it: what replay must ask for again."""

    kind: str
    name: str
    key: str
    seq: int

    def describe(self) -> str:
        return f"{self.kind} {self.name!r}" if self.kind != "timer" else "timer (ctx.sleep)"


@dataclass
class Outcomes:
    """Committed outcomes, indexed for the awaits that look them up."""

    activities: dict[str, ev.ActivityCompleted | ev.ActivityFailed] = field(default_factory=dict)
    timers: dict[str, ev.TimerFired | ev.TimerCancelled] = field(default_factory=dict)
    children: dict[str, ev.ChildCompleted | ev.ChildFailed] = field(default_factory=dict)
    signals: dict[str, list[ev.SignalReceived]] = field(default_factory=dict)
    cancel: ev.WorkflowCancelRequested | None = None

    def add(self, event: ev.Event) -> None:
        if isinstance(event, (ev.ActivityCompleted, ev.ActivityFailed)):
            self.activities[event.activity_id] = event
        elif isinstance(event, (ev.TimerFired, ev.TimerCancelled)):
            self.timers.setdefault(event.timer_id, event)
        elif isinstance(event, (ev.ChildCompleted, ev.ChildFailed)):
            self.children[event.child_workflow_id] = event
        elif isinstance(event, ev.SignalReceived):
            self.signals.setdefault(event.name, []).append(event)
        elif isinstance(event, ev.WorkflowCancelRequested) and self.cancel is None:
            self.cancel = event


def recorded_command(event: ev.Event) -> Recorded | None:
    """The command an event records, if it records one (retries do not)."""
    if isinstance(event, ev.ActivityScheduled) and event.attempt == 1:
        return Recorded("activity", event.name, event.activity_id, event.seq)
    if isinstance(event, ev.TimerStarted):
        timer = TimerId.parse(event.timer_id)
        if timer.kind is TimerKind.SIGNAL:
            return Recorded("signal", timer.name, event.timer_id, event.seq)
        return Recorded("timer", "sleep", event.timer_id, event.seq)
    if isinstance(event, ev.ChildStarted):
        return Recorded("child", event.workflow_type, event.child_workflow_id, event.seq)
    return None
