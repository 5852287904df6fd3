"""What a committed event asks of the engine around its run: record first, then act.

The RunActor calls `act` for each event of a batch once the batch is
committed, never before: a crash at any instant then loses only work no one
outside saw. Both functions return the events to record next (a cancelled
activity's end), and let `LookupError` (an activity this engine cannot
run) reach the actor, which parks the run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aion_actors.core import RunKey
from aion_actors.core import events as ev
from aion_actors.runtime.host import RunHost
from aion_actors.runtime.ledger import Ledger
from aion_actors.runtime.outcomes import cancel_ends
from aion_actors.runtime.timeouts import deadline
from aion_actors.workers import CancelReason

#: outcomes that ask nothing of the engine once recorded (the common ones, skipped at once)
_INERT: frozenset[type[ev.Event]] = frozenset(
    {
        ev.ActivityCompleted,
        ev.TimerFired,
        ev.TimerCancelled,
        ev.SignalReceived,
        ev.ActivityHeartbeat,
    }
)


def act(host: RunHost, key: RunKey, ledger: Ledger, event: ev.Event) -> list[ev.Event]:
    """Do what the committed `event` of run `key` asks for; `ledger` holds it already."""
    kind = type(event)  # (events are final classes: one lookup, not a ladder of isinstance)
    if kind in _INERT:
        return []
    if kind is ev.ActivityScheduled:
        assert isinstance(event, ev.ActivityScheduled)
        if event.deadline is not None and event.attempt == 1:
            host.arm_timer(event.deadline)
        return dispatch(host, key, ledger, event)
    if (arm := _ARMS.get(kind)) is not None and (ended := arm(host, key, ledger, event)):
        return ended
    if kind in _CANCELS_CHILDREN and (children := list(ledger.children.values())):
        host.cancel_children(children, f"parent {key.workflow_id!r}: {event.kind}")
    if event.lifecycle and kind not in _HOLDS_OPEN:
        host.run_closed(key, event)
    return []


def _timer_started(host: RunHost, key: RunKey, ledger: Ledger, event: ev.TimerStarted) -> None:
    host.arm_timer(event.fire_at)


def _attempt_failed(
    host: RunHost, key: RunKey, ledger: Ledger, event: ev.ActivityAttemptFailed
) -> None:
    if event.retry_at is not None:
        host.arm_timer(event.retry_at)


def _handed_off(host: RunHost, key: RunKey, ledger: Ledger, event: ev.ActivityHandedOff) -> None:
    if event.timeout_at is not None:
        host.arm_timer(event.timeout_at)  # the attempt's own timeout, in the timer index


def _child_started(host: RunHost, key: RunKey, ledger: Ledger, event: ev.ChildStarted) -> None:
    host.start_child(key, event)


def _external(host: RunHost, key: RunKey, ledger: Ledger, event: ev.ExternalRequested) -> None:
    host.request_external(key, event)


def _cancel_requested(
    host: RunHost, key: RunKey, ledger: Ledger, event: ev.ActivityCancelRequested
) -> list[ev.Event]:
    host.cancel_attempt(key, event.activity_id, CancelReason.recorded(event.reason))
    return cancel_ends(ledger, event.activity_id, dispatching=False)


def _started(host: RunHost, key: RunKey, ledger: Ledger, event: ev.WorkflowStarted) -> None:
    if (fire_at := deadline(event)) is not None:
        host.arm_timer(fire_at)  # its timeout is in the timer index from this commit on


#: what each other kind of committed event asks for (the ends of a cancelled attempt, or
#: nothing to record); then, whatever the kind, its children cancelled or its run closed
_ARMS: dict[type[ev.Event], Callable[[RunHost, RunKey, Ledger, Any], list[ev.Event] | None]] = {
    ev.TimerStarted: _timer_started,
    ev.ActivityAttemptFailed: _attempt_failed,
    ev.ActivityHandedOff: _handed_off,
    ev.ChildStarted: _child_started,
    ev.ExternalRequested: _external,
    ev.ActivityCancelRequested: _cancel_requested,
    ev.WorkflowStarted: _started,
}
_CANCELS_CHILDREN: frozenset[type[ev.Event]] = frozenset(ev.CANCELS_CHILDREN)
_HOLDS_OPEN: frozenset[type[ev.Event]] = frozenset(ev.HOLDS_OPEN)


def dispatch(
    host: RunHost, key: RunKey, ledger: Ledger, event: ev.ActivityScheduled
) -> list[ev.Event]:
    """Send the attempt, with its activity's last heartbeat details; or, if its
    cancellation was requested (a restart found it running), end it unrun."""
    if ended := cancel_ends(ledger, event.activity_id, dispatching=True):
        return ended
    state = ledger.activities.get(event.activity_id)
    host.dispatch(key, event, state.heartbeat if state is not None else None)
    return []


def resume_waits(host: RunHost, key: RunKey, ledger: Ledger) -> None:
    """A run comes back: arm its timers again, and pursue its children and requests."""
    if not (ledger.activities or ledger.timers or ledger.children or ledger.externals):
        return  # (a new run: nothing to resume)
    for fire_at in ledger.fire_times():
        host.arm_timer(fire_at)
    for child in ledger.children.values():
        host.start_child(key, child)
    for request in ledger.externals.values():
        host.request_external(key, request)
