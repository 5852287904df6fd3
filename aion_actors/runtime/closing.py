"""Children and endings: starting children once, telling parents, closing runs.

Functions of a `RunManager`. Every one is idempotent, because recovery and
replay may call them again for the same event.
"""

from __future__ import annotations

import contextlib
import functools
from typing import TYPE_CHECKING, Any

from aion_actors.core import AionError, WorkflowStatus, faults, status_from_events
from aion_actors.core import events as ev
from aion_actors.runtime import messages as msg
from aion_actors.runtime.recovery import Waiter, wait_for_type
from supervisor import Handle, Residency

Key = tuple[str, str]
_CANCEL_TIMEOUT = 30.0

if TYPE_CHECKING:
    from aion_actors.runtime.runs import RunManager


def start_child(runs: RunManager, workflow_id: str, run_id: str, event: ev.ChildStarted) -> None:
    """Start the child once (idempotent), or report it if it already ended."""
    child = runs._store.get_run(event.child_workflow_id, event.child_run_id)
    if child is None:
        definition = runs._catalog.workflow(event.workflow_type)
        if definition is None:
            name = event.workflow_type
            reason = f"workflow type {name!r} of its child is not registered"
            wake = functools.partial(runs.start_child, workflow_id, run_id, event)
            waiter = Waiter((workflow_id, run_id), reason, wake)
            wait_for_type(runs, name, ("child", event.child_workflow_id), waiter)
            return
        parent = {"workflow_id": workflow_id, "run_id": run_id}
        if faults.ARMED:
            faults.hit("child.starting")
        runs.create(
            definition,
            event.child_workflow_id,
            event.child_run_id,
            list(event.input or []),
            parent,
        )
        return
    if child.status == WorkflowStatus.CONTINUED_AS_NEW:  # its chain decides
        child = runs._store.latest_run(event.child_workflow_id) or child
    if child.status.is_terminal and child.status != WorkflowStatus.CONTINUED_AS_NEW:
        notify_parent(
            runs,
            child.workflow_id,
            child.run_id,
            child.status,
            {"workflow_id": workflow_id, "run_id": run_id},
        )


def cancel_children(runs: RunManager, children: list[ev.ChildStarted], reason: str) -> None:
    """Ask open children to cancel, off the parent's thread (requests wait for commits)."""

    def cancel() -> None:
        for child in children:
            with contextlib.suppress(AionError, TimeoutError):
                # the child's open run: a continued child has moved on to a new run_id
                open_run = runs._open.get(child.child_workflow_id)
                if open_run is not None:
                    runs.request(
                        child.child_workflow_id,
                        open_run,
                        lambda ack: msg.CancelRequest(reason, ack),
                        _CANCEL_TIMEOUT,
                    )

    runs._background.submit(cancel)


def notify_parent(
    runs: RunManager,
    workflow_id: str,
    run_id: str,
    status: WorkflowStatus,
    parent: dict[str, Any],
    closing: ev.Event | None = None,
) -> None:
    if closing is None:
        history = runs._store.read(workflow_id, run_id)
        closing = history[-1] if history else None
    if isinstance(closing, ev.WorkflowCompleted):
        event: ev.ChildCompleted | ev.ChildFailed = ev.ChildCompleted(
            child_workflow_id=workflow_id, child_run_id=run_id, result=closing.result
        )
    else:
        error = getattr(closing, "error", None) or {
            "type": "ChildWorkflow" + status.value.title().replace("_", ""),
            "message": f"child workflow {workflow_id!r} ended {status.value}",
        }
        event = ev.ChildFailed(child_workflow_id=workflow_id, child_run_id=run_id, error=error)
    runs.deliver(parent["workflow_id"], parent["run_id"], msg.ChildClosed(event))


def mark_closed(
    runs: RunManager, workflow_id: str, run_id: str, event: ev.Event
) -> Handle[Key] | None:
    """Update the run table for a run that ended or parked; touches no other run."""
    key = (workflow_id, run_id)
    if isinstance(event, ev.RunParked):
        return runs.registry.update(
            key,
            lambda h: h.replace(
                status=WorkflowStatus.PARKED, residency=Residency.PARKED, ref=None, pid=None
            ),
        )
    with runs._lock(workflow_id):
        if runs._open.get(workflow_id) == run_id:
            del runs._open[workflow_id]
    return runs.registry.remove(key)


def after_close(
    runs: RunManager,
    workflow_id: str,
    run_id: str,
    event: ev.Event,
    parent: Any,
    handle: Handle[Key] | None,
) -> None:
    """What a closed run sets off elsewhere: its successor, waiters, its parent."""
    if isinstance(event, ev.RunParked):
        return
    if isinstance(event, ev.WorkflowContinuedAsNew):
        definition = runs._catalog.workflow(handle.kind) if handle else None
        if definition is not None:
            if faults.ARMED:
                faults.hit("continue_as_new")
            runs.create(definition, workflow_id, event.next_run_id, event.input, parent)
    if handle is not None:
        handle.completion.complete(event)
    if parent and not isinstance(event, ev.WorkflowContinuedAsNew):
        notify_parent(runs, workflow_id, run_id, status_from_events([event]), parent, event)
