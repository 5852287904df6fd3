"""The owner's side of the operator verbs another node forwards — `pause`, `unpause`,
`reset`, `update` and signal-with-start — each applied as the same call made on the
owner, and once although a request may be applied again (its owner died before it
answered):

- `pause`/`unpause`: their event's append consumes the request row (by kind
  and run); applied again, the run's own rules answer (already paused: done).
- `reset`: the caller names the run it resets; once that run is no longer the
  latest and closed by `WorkflowReset`, the answer is the run it went on in.
- `update`: exactly once per update id, as on one node.
- signal-with-start: the start's append consumes the row (by run id), or the
  signal carries the request id (recorded once per id, as a node's signal).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from aion_actors.core import RunKey, WorkflowAlreadyStarted, WorkflowClosed
from aion_actors.core import events as ev
from aion_actors.lookup import Lookup
from aion_actors.nodes.calls import NodeAnswer, NodeCall
from aion_actors.operations import Operations
from aion_actors.registration import Registration
from aion_actors.runtime import messages as msg
from aion_actors.runtime.runs import NewRun, RunManager
from aion_actors.starting import StartOptions, options_checked
from aion_actors.store import EventStore

#: the event whose append consumes a request's row, when that event names no request id
Awaited = tuple[str, str, str] | None
KINDS = ("pause", "unpause", "reset", "update", "signal_start")
_RACES = 5


class OwnerVerbs:
    def __init__(
        self, runs: RunManager, lookup: Lookup, registration: Registration, store: EventStore
    ) -> None:
        self._runs = runs
        self._lookup = lookup
        self._registration = registration
        self._store = store
        self._ops = Operations(runs, lookup)

    def apply(
        self,
        request_id: str,
        call: NodeCall,
        expect: Callable[[Awaited], None],
        timeout: float,
    ) -> NodeAnswer | None:
        """Apply `call` here; None when done as asked (its row consumed by its event's
        append, or to be deleted), else the answer to record."""
        wid = call.workflow_id
        if call.kind in ("pause", "unpause"):
            key = self._lookup.open_run(wid, call.kind)
            expect(("RunPaused" if call.kind == "pause" else "RunUnpaused", *key))
            if call.kind == "pause":
                self._ops.pause(wid, call.reason, timeout)
            else:
                self._ops.unpause(wid, timeout)
            return None
        if call.kind == "reset":
            return NodeAnswer(run_id=self._reset(call, timeout))
        if call.kind == "update":
            key = self._lookup.latest_key(wid)
            update_id, fresh = str(call.options.get("update_id")), bool(call.options.get("fresh"))
            done = self._runs.update(key, str(call.name), call.payload, update_id, timeout, fresh)
            return NodeAnswer(value={"result": done.result, "error": done.error})
        return self._signal_start(request_id, call, expect, timeout)

    def _reset(self, call: NodeCall, timeout: float) -> str:
        wid, base = call.workflow_id, call.run_id
        latest = self._lookup.latest(wid)
        if base is not None and latest.run_id != base:  # applied before (or the run moved on)
            history = self._store.read(wid, base)
            if history and isinstance(history[-1], ev.WorkflowReset):
                return history[-1].next_run_id
        to_seq = int(call.options.get("to_seq", 0))
        return self._ops.reset(wid, to_seq, call.reason, timeout)

    def _signal_start(
        self,
        request_id: str,
        call: NodeCall,
        expect: Callable[[Awaited], None],
        timeout: float,
    ) -> NodeAnswer | None:
        wid, run_id = call.workflow_id, str(call.run_id)
        definition = self._registration.workflow(str(call.workflow_type))
        timeouts, memo = options_checked(cast(StartOptions, call.options))
        signal = (str(call.name), call.payload)
        run = NewRun(wid, run_id, call.args, None, timeouts, signal=signal, memo=memo)
        for _ in range(_RACES):
            open_run = self._runs.open_run(wid)
            try:
                if open_run is None:
                    if self._store.get_run(wid, run_id) is not None:
                        return None  # started by this request before
                    expect(("WorkflowStarted", wid, run_id))
                    [started] = self._runs.start_many(definition, [run], None)
                    if isinstance(started, BaseException):
                        raise started
                    return None
                expect(None)  # its signal carries the request id
                ack = msg.Ack(follows=True)
                self._runs.request(
                    RunKey(wid, open_run),
                    msg.Signal(signal[0], signal[1], ack, request_id),
                    timeout,
                )
                return NodeAnswer(run_id=open_run)
            except (WorkflowAlreadyStarted, WorkflowClosed):  # it opened, or closed, meanwhile
                continue
        raise WorkflowAlreadyStarted(wid, self._runs.open_run(wid) or "?")
