"""What another run's answer records in this run: a child's start or ending, or the
outcome of a request to another workflow.

Pure, as `outcomes` is: the run's `Ledger` and the reply in, the events to
record out — none for a reply that answers nothing still open (a repeat after
a crash, or the run is closed).
"""

from __future__ import annotations

from aion_actors.core import events as ev
from aion_actors.runtime import messages as msg
from aion_actors.runtime.ledger import Ledger


def recorded_for(ledger: Ledger, reply: msg.Reply) -> list[ev.Event]:
    if ledger.closed:
        return []
    if isinstance(reply, msg.ChildClosed):
        event = ledger.child_closed(reply.event, reply.exact)
        return [] if event is None else [event]
    if isinstance(reply, msg.ChildRunning):
        run_id = reply.event.child_run_id
        fresh = run_id in ledger.children and run_id not in ledger.children_running
        return [reply.event] if fresh else []
    return [reply.event] if reply.event.request_id in ledger.externals else []
