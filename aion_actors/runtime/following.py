"""Which calls follow a workflow_id along its continue-as-new chain.

A call addressed by workflow_id alone — a signal, cancel, terminate, pause,
unpause or update (`Ack(follows=True)`), or a query (`Query(follows=True)`) —
is for the workflow's open run, whichever that is when it arrives. A run
that closes naming a next run (continue-as-new, reset) before recording or
answering it does not refuse it: its actor holds it until it stops, and
`Residency.refuse`, where every message for a closed run is answered, sends
it on to the run the closing names, which records or answers it once. A
call naming one run (a run_id, an activity token) never follows.
"""

from __future__ import annotations

from aion_actors.core import WorkflowStatus
from aion_actors.runtime import messages as msg
from aion_actors.runtime.machine import Machine
from aion_actors.runtime.update_calls import UpdateCall


def follows(message: object) -> bool:
    """Whether `message` was addressed by workflow_id alone."""
    if isinstance(message, msg.Request):
        return message.ack.follows
    return isinstance(message, msg.Query) and message.follows


def onward(message: object, closed_as: WorkflowStatus | None, machine: Machine | None) -> bool:
    """Whether a run whose ending is queued as `closed_as` leaves `message`, a query or an
    update that follows, to the run it closes into, which answers it — unless it is an
    update this run has answered (a retry: its answer stands). (A request that follows
    is held whatever the ending: see `RunActor._request`.)"""
    if closed_as is None or not closed_as.names_next_run or not follows(message):
        return False
    if isinstance(message, UpdateCall):
        return machine is None or machine.updates.answer(message.update_id) is None
    return isinstance(message, msg.Query)
