"""How runs end, and what happens around an ending: closing, parking, resuming, children,
parents, what the run supervisor decides — and requests to runs that no actor holds.

A run is written by its actor. While it has none that may write — PARKED,
AWAITING_TYPE, or ABSENT and being terminated (CLOSING) — the events of
requests to it are appended here on its behalf, on the owner lane, which is
also where such a run is started again (`resume`, a registration): so a
write on its behalf and its next actor never overlap. Every step here is
idempotent, because recovery and replay may take it again for one event.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from typing import Any

from aion_actors.core import (
    AionError,
    RunKey,
    SequenceConflict,
    StoreUnavailable,
    WorkflowAlreadyStarted,
    WorkflowStatus,
    faults,
)
from aion_actors.core import events as ev
from aion_actors.runtime import messages as msg
from aion_actors.runtime.arity import misfit, unstarted
from aion_actors.runtime.catalog import Catalog
from aion_actors.runtime.completion import recorded_for
from aion_actors.runtime.host import Incarnation
from aion_actors.runtime.lane import Lane
from aion_actors.runtime.ledger import Ledger
from aion_actors.runtime.runs.elsewhere import ChildrenElsewhere
from aion_actors.runtime.runs.entry import WRITTEN_FOR, Presence, RunCounters
from aion_actors.runtime.runs.resets import Resets
from aion_actors.runtime.runs.residency import Residency, child_run
from aion_actors.runtime.runs.rewrites import Rewrites
from aion_actors.runtime.runs.starts import NewRun, Starts
from aion_actors.runtime.runs.table import RunTable
from aion_actors.runtime.runs.waiters import TypeWaiters, Waiter
from aion_actors.runtime.runs.wakes import Wakes
from aion_actors.runtime.timeouts import Timeouts, opening
from aion_actors.store import EventStore, Recorder
from supervisor import ChildInfo, ExitReason

log = logging.getLogger("aion_actors.runtime")

#: how long a write on a run's behalf may wait for its commit
WRITE_TIMEOUT = 30.0
#: appends retried when a dead actor's last append raced ours
_CONFLICT_RETRIES = 5


class Endings:
    def __init__(
        self,
        table: RunTable,
        residency: Residency,
        starts: Starts,
        waiters: TypeWaiters,
        store: EventStore,
        recorder: Recorder,
        catalog: Catalog,
        *,
        lane: Lane,
        counters: RunCounters,
        resets: Resets,
        wakes: Wakes,
    ) -> None:
        self._resets = resets
        #: wakes the callers waiting for a run that closed (see `wakes`)
        self._wakes = wakes
        self._table = table
        self._residency = residency
        self._starts = starts
        self._waiters = waiters
        self._store = store
        self._recorder = recorder
        self._catalog = catalog
        self._lane = lane
        self._counters = counters
        #: a node's: children held by other nodes (see `elsewhere`)
        self.elsewhere: ChildrenElsewhere | None = None
        residency.resend = self.send  # a request passed on to a successor run goes as any
        #: requests written here that the store refused, whose callers gave up
        self.rewrites = Rewrites(recorder, lane, self._write_request)

    # -- requests to runs without an actor

    def send(self, key: RunKey, request: msg.RequestMessage) -> None:
        """Route a request: to the run's actor (bringing it back if needed), or — when
        no actor can hold the run — recorded on its behalf. Its ack resolves either way."""
        table = self._table
        with table.lock(key.workflow_id):
            entry = table.get(key)
            if entry is not None and not table.shut_down:
                if entry.presence is Presence.ABSENT:
                    if self._catalog.workflow(entry.workflow_type) is None:
                        self._residency.await_type(key, None, entry.workflow_type)
                    elif isinstance(request, msg.TerminateRequest):
                        table.closing(key)  # ended without replaying its code
                if entry.presence in WRITTEN_FOR or entry.presence is Presence.CLOSING:
                    self._lane.submit(self._write_request, key, request)
                    return
                if entry.presence is Presence.STALLED:  # nothing can be recorded now:
                    if request.ack.keep(self._unwritable()):  # its caller gave up: later
                        table.hold(entry, request)
                    return
        self._residency.deliver(key, request)

    def _write_request(self, key: RunKey, request: msg.RequestMessage) -> None:
        entry = self._table.get(key)
        if entry is None or entry.presence not in (*WRITTEN_FOR, Presence.CLOSING):
            self._residency.deliver(key, request)  # it has an actor again
            return
        if request.request_id is not None and any(  # recorded before a crash
            getattr(e, "request_id", None) == request.request_id for e in self._store.read(*key)
        ):
            request.ack.resolve()
            return
        try:
            events = self._recorded_for(key, request)
            if not events:  # a completion of an attempt no longer open: its ack says why
                return
            committed = self.write(key, events)
        except BaseException as exc:
            generation = self._table.reopen(key)
            if generation is not None:
                self._residency.spawn(key, generation)
            if not self.rewrites.keep(key, request, exc):
                request.ack.resolve(exc)
            return
        request.ack.submitted = True
        if isinstance(request, msg.TerminateRequest):  # closed before its caller hears so
            self.closed(key, committed[-1])
            ledger = Ledger(self._store.read(*key))
            if not isinstance(request, msg.ResetRequest):  # a reset's children go on with it
                self.cancel_children(list(ledger.children.values()), f"parent {key.workflow_id!r}")
        request.ack.resolve()

    def _recorded_for(self, key: RunKey, request: msg.RequestMessage) -> list[ev.Event]:
        decides = (msg.CompleteActivity, msg.PauseRequest, msg.UnpauseRequest)  # on its history
        ledger = Ledger(self._store.read(*key)) if isinstance(request, decides) else Ledger()
        now = self._residency.clock.now_ns()
        return recorded_for(key, request, ledger, self._catalog.retry_policy, now)

    def _unwritable(self) -> StoreUnavailable:
        return self._recorder.unavailable or StoreUnavailable("the store", "it refused a write")

    def write(self, key: RunKey, events: Sequence[ev.Event]) -> list[ev.Event]:
        """Append for a run that has no actor that may write; a dead actor's last
        append may race it, once."""
        for _ in range(_CONFLICT_RETRIES):
            head = self._recorder.head(*key)
            try:
                return self._recorder.append(*key, events, head, WRITE_TIMEOUT)
            except SequenceConflict:
                continue
        raise SequenceConflict(-1, -1, workflow_id=key.workflow_id, run_id=key.run_id)

    # -- closing and parking

    def run_closed(self, key: RunKey, event: ev.Event) -> None:
        """The run's actor committed its ending (or `RunParked`)."""
        if isinstance(event, ev.RunParked):
            self.parked(key, None, event.reason)
        else:
            self.closed(key, event)

    def parked(self, key: RunKey, generation: int | None, reason: str) -> None:
        requests = self._table.park(key, generation, reason)
        for request in requests or ():
            assert isinstance(request, msg.RequestMessage)
            self._lane.submit(self._write_request, key, request)

    def closed(self, key: RunKey, closing: ev.Event) -> None:
        """Close the run in the table, then what its ending sets off elsewhere."""
        entry = self._table.get(key)
        successor = None
        if entry is not None and isinstance(closing, ev.WorkflowContinuedAsNew | ev.WorkflowReset):
            successor = self._table.reserve(
                RunKey(key.workflow_id, closing.next_run_id),
                entry.workflow_type,
                entry.version,
                entry.parent,
                refuse_open=False,
                successor=True,
            )
        done = self._table.close(key, closing, successor=successor)
        if done is None:
            return
        self._residency.refuse(key, done.leftovers)
        self._residency.keep_history(key, None)  # (one kept for a replay that never came)
        self._wakes.closed(key, closing, done.watchers, done.callbacks)
        parent = done.entry.parent
        if successor is not None and isinstance(closing, ev.WorkflowContinuedAsNew):
            if faults.ARMED:
                faults.hit("continue_as_new")
            self._start_successor(successor.key, closing, parent, opening(self._store, key))
        elif isinstance(closing, ev.WorkflowReset):  # its parent hears from the new run
            if successor is not None:
                self._lane.submit(self._resets.closed, key, closing)
        elif parent:
            status = done.entry.status
            self.notify_parent(key, status, parent, closing)
            if self.elsewhere is not None:
                self.elsewhere.apart(RunKey(key.workflow_id, parent.get("child_run_id", "")))

    def _start_successor(
        self,
        key: RunKey,
        closing: ev.WorkflowContinuedAsNew,
        parent: dict[str, Any] | None,
        started: ev.Event | None,
    ) -> None:
        entry = self._table.get(key)
        definition = self._catalog.workflow(entry.workflow_type) if entry is not None else None
        if definition is None:
            self._residency.refuse(key, self._table.withdraw(key))
            return
        run = NewRun.successor(key.workflow_id, closing, parent, started)
        self._starts.launch(definition, [run], [entry], wait=False)

    def resume(self, key: RunKey) -> bool:
        """Replay a parked run again (after a code fix); it records `RunResumed`."""
        generation = self._table.resume(key)
        if generation is None:
            return False
        self._lane.submit(self._residency.spawn, key, generation)
        return True

    # -- children and parents

    def start_child(self, parent: RunKey, event: ev.ChildStarted) -> None:
        """Start the child once (idempotent), or report it if it already ended.

        A child is started as `engine.start` starts a run: while its workflow_id
        has an open run, it is refused — the parent's await fails with
        `WorkflowAlreadyStarted` — and nothing starts; so it is when its arguments do
        not fit its workflow (a `TypeError`: it would fail so at every start).
        """
        # the link the child's runs (and their successors) carry back to this command
        link = {"workflow_id": parent.workflow_id, "run_id": parent.run_id}
        link["child_run_id"] = event.child_run_id
        child = self._store.get_run(event.child_workflow_id, event.child_run_id)
        definition = self._catalog.workflow(event.workflow_type)
        if child is None and definition is None:  # (wherever it is to run: this node's code)
            name = event.workflow_type
            reason = f"waiting for workflow type {name!r} of its child to be registered"
            waiter = Waiter(parent, reason, lambda: self.start_child(parent, event))
            self._waiters.add(name, ("child", event.child_workflow_id), waiter)
            return
        if self.elsewhere is not None and not self.elsewhere.owns(event.child_workflow_id):
            self.elsewhere.follow(parent, event, link)
            return
        if child is None and definition is not None:
            if faults.ARMED:
                faults.hit("child.starting")
            args = list(event.input or [])
            run = NewRun(
                event.child_workflow_id, event.child_run_id, args, link, Timeouts.of_child(event)
            )
            refusal: BaseException | None = misfit(definition, args)
            try:
                if refusal is None:
                    self._starts.create(definition, [run], refuse_open=True, wait=False)
            except WorkflowAlreadyStarted as taken:
                refusal = taken
            if refusal is not None:
                refused = ev.ChildFailed(
                    child_workflow_id=event.child_workflow_id,
                    child_run_id=event.child_run_id,
                    error=unstarted(refusal),
                )
                self._residency.deliver(parent, msg.ChildClosed(refused))
                return
        if event.confirm:  # `ctx.start_child` resumes once the parent records this
            running = ev.ChildRunStarted(
                child_workflow_id=event.child_workflow_id, child_run_id=event.child_run_id
            )
            self._residency.deliver(parent, msg.ChildRunning(running))
        if self.elsewhere is not None:  # (its partition may move away before it ends)
            self.elsewhere.together(parent, event, link)
        if child is None:
            return
        if child.status == WorkflowStatus.CONTINUED_AS_NEW:  # its chain decides
            child = self._store.latest_run(event.child_workflow_id) or child
        if child.status.is_terminal and child.status != WorkflowStatus.CONTINUED_AS_NEW:
            self.notify_parent(RunKey(child.workflow_id, child.run_id), child.status, link)

    def cancel_children(self, children: list[ev.ChildStarted], reason: str) -> None:
        """Ask each open child to cancel (a continued child's open run is a new run_id)."""
        for child in children:
            if child.on_parent_close != "cancel":
                continue
            if self.elsewhere is not None and not self.elsewhere.owns(child.child_workflow_id):
                self.elsewhere.cancel(child.child_workflow_id, reason)
                continue
            open_run = self._table.open_run(child.child_workflow_id)
            if open_run is not None:
                request = msg.CancelRequest(reason, msg.Ack())
                self.send(RunKey(child.child_workflow_id, open_run), request)

    def notify_parent(
        self,
        child: RunKey,
        status: WorkflowStatus,
        parent: dict[str, Any],
        closing: ev.Event | None = None,
    ) -> None:
        if closing is None:
            history = self._store.read(*child)
            closing = history[-1] if history else None
        # keyed by the parent's command: the run it started, not a successor of it
        child_id, run_id = child.workflow_id, parent.get("child_run_id", child.run_id)
        if isinstance(closing, ev.WorkflowCompleted):
            event: ev.ChildCompleted | ev.ChildFailed = ev.ChildCompleted(
                child_workflow_id=child_id, child_run_id=run_id, result=closing.result
            )
        else:
            why = getattr(closing, "reason", "")
            error = getattr(closing, "error", None) or {
                "type": "ChildWorkflow" + status.value.title().replace("_", ""),
                "message": f"child workflow {child.workflow_id!r} ended {status.value}"
                + (f": {why}" if why else ""),
            }
            event = ev.ChildFailed(child_workflow_id=child_id, child_run_id=run_id, error=error)
        parent_key = RunKey(parent["workflow_id"], parent["run_id"])
        exact = "child_run_id" in parent
        self._residency.deliver(parent_key, msg.ChildClosed(event, exact))

    # -- what the run supervisor decides (called in its thread)

    def on_exit(self, info: ChildInfo, reason: ExitReason, exc: BaseException | None) -> None:
        key, generation = child_run(info)
        if reason.kind != "crash" or exc is None:
            self._residency.exited(key, generation, crashed=False)
            return
        self._residency.exited(key, generation, crashed=True)
        entry = self._table.get(key)
        if entry is None or entry.generation != generation:
            return  # a stale incarnation, or its run closed: nothing to record for it
        self._counters.crashes += 1
        self._table.lost(key, generation)
        tb = "".join(traceback.format_exception(exc))
        crashed = ev.RunCrashed(pid=info.pid or 0, error=ev.error_info(exc), traceback=tb)
        try:
            # synchronously: the replacement must find `RunCrashed` in history
            self.write(key, [crashed])
        except AionError:
            log.exception("could not record the crash of run %s", key.run_id)
        if info.restart == "temporary":  # never restarted: the crash ends the run
            self.on_exhausted(info, reason, exc, "fail")

    def on_restart(self, info: ChildInfo, delay: float) -> None:
        key, generation = child_run(info)
        self._counters.restarts += 1
        incarnation = Incarnation(pid=info.pid or 0, restart_attempt=info.restarts, backoff=delay)
        self._residency.restarting(key, generation, incarnation)

    def on_exhausted(
        self, info: ChildInfo, reason: ExitReason, exc: BaseException | None, action: str
    ) -> None:
        key, generation = child_run(info)
        entry = self._table.get(key)
        if entry is None or entry.generation != generation:
            return
        error = ev.error_info(exc) if exc else {"type": "RunCrashed", "message": str(reason)}
        if action == "park":
            closing: ev.Event = ev.RunParked(
                reason=f"restart intensity exhausted; last crash: {error['type']}: "
                f"{error['message']}; fix the code and call engine.resume()"
            )
        else:
            closing = ev.WorkflowFailed(error=error)
        try:
            [committed] = self.write(key, [closing])
        except AionError:
            log.exception("could not record %s for run %s", closing.kind, key.run_id)
            return
        if isinstance(committed, ev.RunParked):
            self.parked(key, generation, committed.reason)
        else:
            # Waking a parent may start or reach runs through the supervisor, which is
            # busy calling this hook: the owner lane does it.
            self._lane.submit(self.closed, key, committed)
