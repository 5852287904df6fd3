"""Record first, then act: what a run's committed event sets off outside the run.

Called by the run's actor for each event of a batch once the batch is
committed — never before — so nothing is dispatched, armed, started or
cancelled that history does not hold.
"""

from __future__ import annotations

from collections.abc import Callable

from aion_actors.core import RunKey
from aion_actors.core import events as ev
from aion_actors.runtime.host import RunHost
from aion_actors.runtime.ledger import Ledger
from aion_actors.runtime.timeouts import deadline


def act(
    host: RunHost,
    key: RunKey,
    ledger: Ledger,
    event: ev.Event,
    dispatch: Callable[[ev.ActivityScheduled], None],
) -> None:
    """Do what the committed `event` of run `key` asks for; `ledger` holds it already."""
    if isinstance(event, ev.ActivityScheduled):
        if event.deadline is not None and event.attempt == 1:
            host.arm_timer(event.deadline)
        dispatch(event)
    elif isinstance(event, ev.TimerStarted):
        host.arm_timer(event.fire_at)
    elif isinstance(event, ev.ActivityAttemptFailed) and event.retry_at is not None:
        host.arm_timer(event.retry_at)
    elif isinstance(event, ev.ChildStarted):
        host.start_child(key, event)
    elif isinstance(event, ev.ExternalRequested):
        host.request_external(key, event)
    elif isinstance(event, ev.WorkflowStarted) and (fire_at := deadline(event)) is not None:
        host.arm_timer(fire_at)  # its timeout is in the timer index from this commit on
    if isinstance(event, ev.CANCELS_CHILDREN) and (children := list(ledger.children.values())):
        host.cancel_children(children, f"parent {key.workflow_id!r}: {event.kind}")
    if event.lifecycle and not isinstance(event, (ev.WorkflowStarted, ev.RunResumed)):
        host.run_closed(key, event)
