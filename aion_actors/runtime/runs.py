"""RunManager: the run table, the run supervisor, and every road into a run.

It is the `RunHost` the actors talk to. It starts runs, rehydrates evicted
ones by replay, routes activity results, timers, signals and child closures
to whichever incarnation is current, records what the supervisor decides
(`RunCrashed`, exhaustion), and resolves result waiters when a run closes.
The registry of handles is a cache: the store's run index is the truth.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import traceback
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pykka

from aion_actors.core import (
    AionError,
    EngineClosed,
    SequenceConflict,
    WorkflowStatus,
    faults,
    status_from_events,
)
from aion_actors.core import events as ev
from aion_actors.runtime import messages as msg
from aion_actors.runtime.actor import RunActor
from aion_actors.runtime.catalog import Catalog
from aion_actors.runtime.definitions import DEFAULT_RUN_RESTART, RetryPolicy, WorkflowDefinition
from aion_actors.runtime.evictor import Evictor
from aion_actors.runtime.executors import Executors
from aion_actors.runtime.host import Incarnation
from aion_actors.runtime.ledger import Ledger
from aion_actors.runtime.timers import TimerService
from aion_actors.store import DueTimer, EventStore, Recorder
from aion_actors.workers import AttemptInfo, Outcome, Task
from supervisor import ChildInfo, ChildSpec, ExitReason, Handle, Registry, Residency, Supervisor

log = logging.getLogger(__name__)

Key = tuple[str, str]
_STRIPES = 64
_SUPERVISION_TIMEOUT = 30.0


class RunManager:
    def __init__(
        self,
        store: EventStore,
        recorder: Recorder,
        catalog: Catalog,
        executors: Executors,
        *,
        max_resident: int = 10_000,
        idle_evict_after: float | None = 30.0,
    ) -> None:
        self._store = store
        self._recorder = recorder
        self._catalog = catalog
        self._executors = executors
        self.registry: Registry[Key] = Registry()
        self._open: dict[str, str] = {}
        self._stripes = [threading.RLock() for _ in range(_STRIPES)]
        self._incarnations: dict[Key, Incarnation] = {}
        self._handoff: dict[Key, list[ev.Event]] = {}
        self._inflight: set[tuple[str, str, str, int]] = set()
        self._awaiting_workflow: dict[str, set[Key]] = {}
        self._awaiting_activity: dict[str, list[tuple[str, str, ev.ActivityScheduled]]] = {}
        self._lost_successors: dict[str, list[tuple[str, ev.WorkflowContinuedAsNew, Any]]] = {}
        self._closed = False
        self.counters = {"crashes": 0, "restarts": 0, "rehydrations": 0}
        self._background = ThreadPoolExecutor(1, thread_name_prefix="aion-runs")
        self._recovery = ThreadPoolExecutor(1, thread_name_prefix="aion-recovery")
        self.timers = TimerService(store, self._timer_due)
        self._sup = Supervisor.start(DEFAULT_RUN_RESTART, name="runs", forget_exited=True)
        self.evictor = Evictor(self._evict, max_resident=max_resident, idle_after=idle_evict_after)
        self.timers.start()

    @property
    def recorder(self) -> Recorder:
        return self._recorder

    def _lock(self, workflow_id: str) -> threading.RLock:
        return self._stripes[hash(workflow_id) % _STRIPES]

    # -- starting runs

    def open_run(self, workflow_id: str) -> str | None:
        return self._open.get(workflow_id)

    def create(
        self,
        definition: WorkflowDefinition,
        workflow_id: str,
        run_id: str,
        args: Sequence[Any],
        parent: dict[str, Any] | None = None,
        *,
        check_open: Callable[[str], None] | None = None,
    ) -> bool:
        """Record `WorkflowStarted` and start the run's actor; False if the run existed."""
        started = ev.WorkflowStarted(
            workflow_type=definition.name,
            input=list(args),
            run_id=run_id,
            version=definition.version,
            parent=parent,
        )
        key = (workflow_id, run_id)
        with self._lock(workflow_id):
            if check_open is not None:
                check_open(workflow_id)
            previous = self._open.get(workflow_id)
            self._open[workflow_id] = run_id
        # The commit waits for an fsync: no lock is held meanwhile. The run is
        # reserved in `_open`, so a second start of this workflow_id is refused.
        try:
            history = self._recorder.append(workflow_id, run_id, [started], 0)
        except BaseException as exc:
            with self._lock(workflow_id):
                if self._open.get(workflow_id) == run_id:
                    if previous is None:
                        del self._open[workflow_id]
                    else:
                        self._open[workflow_id] = previous
            if isinstance(exc, SequenceConflict):
                return False
            raise
        self.registry.insert(
            key,
            Handle(
                key,
                None,
                definition.name,
                definition.version,
                WorkflowStatus.RUNNING,
                Residency.RESIDENT,
            ),
        )
        self._handoff[key] = history
        self._spawn(workflow_id, run_id, definition)
        return True

    def register_existing(
        self, workflow_id: str, run_id: str, kind: str, version: str, status: WorkflowStatus
    ) -> None:
        """Recovery: list an open run as evicted (or parked) without starting it."""
        self._open[workflow_id] = run_id
        residency = Residency.PARKED if status == WorkflowStatus.PARKED else Residency.EVICTED
        self.registry.insert(
            (workflow_id, run_id),
            Handle((workflow_id, run_id), None, kind, version, status, residency),
        )

    def recover(self) -> int:
        """List every open run as evicted, then restart what was in flight; returns wakes.

        Nothing is replayed that does not need to be: attempts that were
        running are dispatched again straight from history (their results
        will rehydrate the run), children are started or reported
        idempotently, and only runs with an outcome they may not have seen
        (or a restart pending) are rehydrated now. Due timers fire through
        the timer service.
        """
        summaries = self._store.open_runs()
        for run in summaries:
            self.register_existing(
                run.workflow_id, run.run_id, run.workflow_type, run.version, run.status
            )
        self._find_lost_successors()
        woken = 0
        for run in summaries:
            if run.status == WorkflowStatus.PARKED:
                continue
            try:
                history = self._store.read(run.workflow_id, run.run_id)
            except AionError:
                history = []
            if not history or _needs_replay(history):
                woken += 1
                self.actor(run.workflow_id, run.run_id)
                continue
            ledger = Ledger(history)
            for _aid, state in ledger.running_attempts():
                self.dispatch(run.workflow_id, run.run_id, state.scheduled)
            for child in ledger.children.values():
                self.start_child(run.workflow_id, run.run_id, child)
        return woken

    def _find_lost_successors(self) -> None:
        """Runs that continued-as-new just before a crash, whose next run never started."""
        for run in self._store.runs(status=WorkflowStatus.CONTINUED_AS_NEW):
            if run.workflow_id in self._open:
                continue
            history = self._store.read(run.workflow_id, run.run_id)
            closing = history[-1] if history else None
            started = history[0] if history else None
            if not isinstance(closing, ev.WorkflowContinuedAsNew):
                continue
            if self._store.get_run(run.workflow_id, closing.next_run_id) is not None:
                continue
            parent = started.parent if isinstance(started, ev.WorkflowStarted) else None
            self._lost_successors.setdefault(run.workflow_type, []).append(
                (run.workflow_id, closing, parent)
            )

    def _start_successors(self, name: str) -> None:
        definition = self._catalog.workflow(name)
        for workflow_id, closing, parent in self._lost_successors.pop(name, []):
            if definition is not None and workflow_id not in self._open:
                self.create(definition, workflow_id, closing.next_run_id, closing.input, parent)

    def _spawn(
        self,
        workflow_id: str,
        run_id: str,
        definition: WorkflowDefinition | None,
        restart_ages: tuple[float, ...] = (),
    ) -> pykka.ActorRef[Any]:
        key = (workflow_id, run_id)
        policy = definition.restart if definition is not None else DEFAULT_RUN_RESTART
        spec = ChildSpec(
            key=key,
            actor=RunActor,
            args=(self, workflow_id, run_id),
            restart=policy.restart,
            shutdown=5.0,
            policy=policy,
            restart_history=restart_ages,
            on_exit=self._on_exit,
            on_restart=self._on_restart,
            on_exhausted=self._on_exhausted,
        )
        info = self._sup.start_child(spec)
        self.evictor.started()
        handle = self.registry.get(key)
        if handle is not None:
            self.registry.insert(
                key, handle.replace(pid=info.pid, ref=info.ref, residency=Residency.RESIDENT)
            )
        assert isinstance(info.ref, pykka.ActorRef)
        self.counters["rehydrations"] += 1
        return info.ref

    # -- reaching a run

    def actor(
        self, workflow_id: str, run_id: str, *, rehydrate: bool = True
    ) -> pykka.ActorRef[Any] | None:
        """The run's live actor, rehydrating it by replay when it is evicted."""
        key = (workflow_id, run_id)
        ref = self._resident(key)
        if ref is not None or not rehydrate or self._closed:
            return ref
        with self._lock(workflow_id):
            ref = self._resident(key)
            handle = self.registry.get(key)
            if ref is not None or handle is None or handle.residency != Residency.EVICTED:
                return ref
            if handle.status is not None and WorkflowStatus(handle.status).is_terminal:
                return None
            definition = self._catalog.workflow(handle.kind)
            if definition is None:
                self._awaiting_workflow.setdefault(handle.kind, set()).add(key)
                return None
            self._await_gone(key)
            if faults.ARMED:
                faults.hit("rehydrate")
            try:
                history = self._store.read(workflow_id, run_id)
            except AionError:  # the actor reads it again, and parks the run naming the seq
                return self._spawn(workflow_id, run_id, definition)
            self._handoff[key] = history
            return self._spawn(workflow_id, run_id, definition, _restart_ages(history, definition))

    def _resident(self, key: Key) -> pykka.ActorRef[Any] | None:
        handle = self.registry.get(key)
        if handle is None or handle.residency != Residency.RESIDENT:
            return None
        ref = handle.ref
        if isinstance(ref, pykka.ActorRef) and ref.is_alive():
            return ref
        info = self._sup.lookup(key)
        if info is None or not isinstance(info.ref, pykka.ActorRef) or not info.ref.is_alive():
            return None
        self.registry.insert(key, handle.replace(pid=info.pid, ref=info.ref))
        return info.ref

    def deliver(self, workflow_id: str, run_id: str, message: object) -> bool:
        """Tell the run `message`; False when it cannot be reached now (closed, restarting).

        A run that was evicted a moment ago is rehydrated and told again.
        """
        for _ in range(3):
            ref = self.actor(workflow_id, run_id)
            if ref is None:
                return False
            try:
                ref.tell(message)
            except pykka.ActorDeadError:
                continue
            return True
        return False

    def redeliver(self, workflow_id: str, run_id: str, message: object) -> None:
        """Deliver to the next incarnation, once the evicting one has gone."""

        def later() -> None:
            self._await_gone((workflow_id, run_id))
            self.deliver(workflow_id, run_id, message)

        self._background.submit(later)

    def _await_gone(self, key: Key, timeout: float = 10.0) -> None:
        """Wait until the supervisor has forgotten the last incarnation of `key`."""
        deadline = time.monotonic() + timeout
        while self._sup.lookup(key) is not None and time.monotonic() < deadline:
            time.sleep(0.001)

    def _evict(self, key: Hashable) -> None:
        ref = self._resident(key)  # type: ignore[arg-type]
        if ref is not None:
            with contextlib.suppress(pykka.ActorDeadError):
                ref.tell(msg.Evict())

    def request(
        self, workflow_id: str, run_id: str, build: Callable[[msg.Ack], object], timeout: float
    ) -> None:
        """Deliver a change request and wait until its event is committed.

        A request whose actor died before submitting it was never recorded,
        so it is sent again to the next incarnation; once submitted, only the
        commit decides.
        """
        deadline = time.monotonic() + timeout
        while True:
            if self._closed:
                raise EngineClosed()
            ack = msg.Ack()
            ref = self.actor(workflow_id, run_id)
            if ref is not None:
                try:
                    ref.tell(build(ack))
                except pykka.ActorDeadError:
                    ref = None
            while ref is not None:
                try:
                    ack.future.result(timeout=0.05)
                    return
                except TimeoutError:
                    if not ref.is_alive() and not ack.submitted:
                        break
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"workflow {workflow_id!r} (run {run_id}) did not record the request "
                            f"within {timeout} s; it may still be recorded later"
                        ) from None
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"workflow {workflow_id!r} (run {run_id}) could not be reached within "
                    f"{timeout} s (it may be restarting)"
                )
            time.sleep(0.01)

    def registered(self, names: Sequence[str]) -> None:
        """New definitions: wake the runs and attempts that were waiting for them.

        In the background, so that a service registering its workflows after
        `Engine.open` is not held up by the recovery of thousands of runs.
        """
        runs = [key for name in names for key in self._awaiting_workflow.pop(name, set())]
        attempts = [item for name in names for item in self._awaiting_activity.pop(name, [])]
        successors = [name for name in names if name in self._lost_successors]

        def wake() -> None:
            for name in successors:
                self._start_successors(name)
            for workflow_id, run_id, event in attempts:
                self.dispatch(workflow_id, run_id, event)
            for workflow_id, run_id in runs:
                if not self._closed:
                    self.actor(workflow_id, run_id)

        if runs or attempts or successors:
            self._recovery.submit(wake)

    def waiting_for(self, workflow_id: str, run_id: str) -> str | None:
        """Why a recovered run cannot go on yet, if it waits for a registration."""
        key = (workflow_id, run_id)
        for name, keys in list(self._awaiting_workflow.items()):
            if key in keys:
                return f"workflow type {name!r} is not registered"
        for name, waiting in list(self._awaiting_activity.items()):
            if any((w, r) == key for w, r, _e in waiting):
                return f"activity {name!r} is not registered"
        return None

    def resume(self, workflow_id: str, run_id: str, kind: str, version: str) -> None:
        """Replay a parked run again (after a code fix); it records `RunResumed`."""
        key = (workflow_id, run_id)
        with self._lock(workflow_id):
            if self._resident(key) is not None:
                return
            self._open[workflow_id] = run_id
            self._incarnations[key] = Incarnation(pid=0, resuming=True)
            handle = self.registry.get(key) or Handle(key, None, kind, version)
            self.registry.insert(
                key, handle.replace(residency=Residency.EVICTED, status=WorkflowStatus.RUNNING)
            )
        self.actor(workflow_id, run_id)

    def terminate_idle(self, workflow_id: str, run_id: str, reason: str) -> bool:
        """End a run that has no actor without replaying it (runs no workflow code)."""
        closing = ev.WorkflowTerminated(reason=reason)
        with self._lock(workflow_id):
            if self.actor(workflow_id, run_id, rehydrate=False) is not None:
                return False
            if not self._record_supervision(workflow_id, run_id, [closing]):
                return False
        history = self._store.read(workflow_id, run_id, 1)
        started = history[0] if history else None
        parent = started.parent if isinstance(started, ev.WorkflowStarted) else None
        self.run_closed(workflow_id, run_id, closing, parent)
        return True

    # -- the RunHost protocol

    def read_history(self, workflow_id: str, run_id: str) -> list[ev.Event]:
        handed = self._handoff.pop((workflow_id, run_id), None)
        return handed if handed is not None else self._store.read(workflow_id, run_id)

    def incarnation(self, workflow_id: str, run_id: str, ref: pykka.ActorRef[Any]) -> Incarnation:
        """Called by each incarnation as it starts: from now on, messages reach it.

        The run table learns the new ref here, before the actor can dispatch
        anything, so no result can arrive before its run is reachable.
        """
        key = (workflow_id, run_id)
        handle = self.registry.get(key)
        if handle is not None:
            self.registry.insert(key, handle.replace(ref=ref, residency=Residency.RESIDENT))
        return self._incarnations.pop(key, None) or Incarnation(pid=0)

    def workflow(self, name: str) -> WorkflowDefinition | None:
        return self._catalog.workflow(name)

    def retry_policy(self, activity: str) -> RetryPolicy | None:
        definition = self._catalog.activity(activity)
        return definition.retry if definition is not None else None

    def dispatch(self, workflow_id: str, run_id: str, event: ev.ActivityScheduled) -> None:
        definition = self._catalog.activity(event.name)
        if definition is None:
            log.warning(
                "run %s waits for activity %r to be registered before it can go on",
                run_id,
                event.name,
            )
            self._awaiting_activity.setdefault(event.name, []).append((workflow_id, run_id, event))
            return
        attempt = (workflow_id, run_id, event.activity_id, event.attempt)
        if attempt in self._inflight or self._closed:
            return
        self._inflight.add(attempt)

        def done(outcome: Outcome) -> None:
            if faults.ARMED:
                faults.hit("activity.unrecorded")
            if not self._closed:
                self.deliver(
                    workflow_id,
                    run_id,
                    msg.ActivityOutcome(event.activity_id, event.attempt, outcome),
                )
            # Only now: a run rehydrated by this very outcome must not dispatch it again.
            self._inflight.discard(attempt)

        task = Task(
            name=event.name,
            args=list(event.input),
            attempt=AttemptInfo(workflow_id, run_id, event.activity_id, event.attempt),
            timeout=definition.timeout,
        )
        self._executors.submit(definition, task, done)

    def arm_timer(self, fire_at: int) -> None:
        self.timers.arm(fire_at)

    def _timer_due(self, timer: DueTimer) -> None:
        if faults.ARMED:
            faults.hit("timer.firing")
        self.deliver(timer.workflow_id, timer.run_id, msg.TimerDue(timer.timer_id))

    def start_child(self, workflow_id: str, run_id: str, event: ev.ChildStarted) -> None:
        """Start the child once (idempotent), or report it if it already ended."""
        child = self._store.get_run(event.child_workflow_id, event.child_run_id)
        if child is None:
            definition = self._catalog.workflow(event.workflow_type)
            if definition is None:
                failed = ev.ChildFailed(
                    child_workflow_id=event.child_workflow_id,
                    child_run_id=event.child_run_id,
                    error={
                        "type": "WorkflowNotFound",
                        "message": f"workflow type {event.workflow_type!r} is not registered",
                    },
                )
                self.deliver(workflow_id, run_id, msg.ChildClosed(failed))
                return
            parent = {"workflow_id": workflow_id, "run_id": run_id}
            if faults.ARMED:
                faults.hit("child.starting")
            self.create(
                definition,
                event.child_workflow_id,
                event.child_run_id,
                list(event.input or []),
                parent,
            )
            return
        if child.status == WorkflowStatus.CONTINUED_AS_NEW:  # its chain decides
            child = self._store.latest_run(event.child_workflow_id) or child
        if child.status.is_terminal and child.status != WorkflowStatus.CONTINUED_AS_NEW:
            self._notify_parent(
                child.workflow_id,
                child.run_id,
                child.status,
                {"workflow_id": workflow_id, "run_id": run_id},
            )

    def cancel_children(self, children: list[ev.ChildStarted], reason: str) -> None:
        """Ask open children to cancel, off the parent's thread (requests wait for commits)."""

        def cancel() -> None:
            for child in children:
                with contextlib.suppress(AionError, TimeoutError):
                    # the child's open run: a continued child has moved on to a new run_id
                    open_run = self._open.get(child.child_workflow_id)
                    if open_run is not None:
                        self.request(
                            child.child_workflow_id,
                            open_run,
                            lambda ack: msg.CancelRequest(reason, ack),
                            _SUPERVISION_TIMEOUT,
                        )

        self._background.submit(cancel)

    def run_closed(self, workflow_id: str, run_id: str, event: ev.Event, parent: Any) -> None:
        handle = self._mark_closed(workflow_id, run_id, event)
        self._after_close(workflow_id, run_id, event, parent, handle)

    def _mark_closed(self, workflow_id: str, run_id: str, event: ev.Event) -> Handle[Key] | None:
        """Update the run table for a run that ended or parked; touches no other run."""
        key = (workflow_id, run_id)
        handle = self.registry.get(key)
        if isinstance(event, ev.RunParked):
            if handle is not None:
                self.registry.insert(
                    key,
                    handle.replace(
                        status=WorkflowStatus.PARKED, residency=Residency.PARKED, ref=None, pid=None
                    ),
                )
            return handle
        with self._lock(workflow_id):
            if self._open.get(workflow_id) == run_id:
                del self._open[workflow_id]
        self.registry.remove(key)
        return handle

    def _after_close(
        self,
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
            definition = self._catalog.workflow(handle.kind) if handle else None
            if definition is not None:
                if faults.ARMED:
                    faults.hit("continue_as_new")
                self.create(definition, workflow_id, event.next_run_id, event.input, parent)
        if handle is not None:
            handle.completion.complete(event)
        if parent and not isinstance(event, ev.WorkflowContinuedAsNew):
            self._notify_parent(workflow_id, run_id, status_from_events([event]), parent, event)

    def _notify_parent(
        self,
        workflow_id: str,
        run_id: str,
        status: WorkflowStatus,
        parent: dict[str, Any],
        closing: ev.Event | None = None,
    ) -> None:
        if closing is None:
            history = self._store.read(workflow_id, run_id)
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
        self.deliver(parent["workflow_id"], parent["run_id"], msg.ChildClosed(event))

    def run_idle(self, workflow_id: str, run_id: str, idle: bool) -> None:
        self.evictor.idle((workflow_id, run_id), idle)

    def run_evicted(self, workflow_id: str, run_id: str) -> None:
        key = (workflow_id, run_id)
        handle = self.registry.get(key)
        if handle is not None:
            self.registry.insert(
                key, handle.replace(residency=Residency.EVICTED, ref=None, pid=None)
            )

    # -- supervisor hooks (run in the supervisor's thread)

    def _on_exit(self, info: ChildInfo, reason: ExitReason, exc: BaseException | None) -> None:
        self.evictor.exited(info.key)
        if reason.kind != "crash" or exc is None:
            return
        workflow_id, run_id = _run_key(info)
        self.counters["crashes"] += 1
        tb = "".join(traceback.format_exception(exc))
        crashed = ev.RunCrashed(pid=info.pid or 0, error=ev.error_info(exc), traceback=tb)
        self._record_supervision(workflow_id, run_id, [crashed])
        if info.restart == "temporary":  # never restarted: the crash ends the run
            self._on_exhausted(info, reason, exc, "fail")

    def _on_restart(self, info: ChildInfo, delay: float) -> None:
        key = _run_key(info)
        self.counters["restarts"] += 1
        self.evictor.started()
        self._incarnations[key] = Incarnation(
            pid=info.pid or 0, restart_attempt=info.restarts, backoff=delay
        )
        handle = self.registry.get(key)
        if handle is not None:
            self.registry.insert(key, handle.replace(pid=info.pid, ref=None))

    def _on_exhausted(
        self, info: ChildInfo, reason: ExitReason, exc: BaseException | None, action: str
    ) -> None:
        workflow_id, run_id = _run_key(info)
        error = (
            ev.error_info(exc)
            if exc is not None
            else {"type": "RunCrashed", "message": str(reason)}
        )
        if action == "park":
            closing: ev.Event = ev.RunParked(
                reason=f"restart intensity exhausted; last crash: {error['type']}: "
                f"{error['message']}; fix the code and call engine.resume()"
            )
        else:
            closing = ev.WorkflowFailed(error=error)
        if self._record_supervision(workflow_id, run_id, [closing]):
            handle = self._mark_closed(workflow_id, run_id, closing)
            # Waking waiters and the parent may start or reach other runs through
            # the supervisor, which is busy calling this hook: another thread does it.
            self._background.submit(
                self._closed_by_supervisor, workflow_id, run_id, closing, handle
            )

    def _closed_by_supervisor(
        self, workflow_id: str, run_id: str, closing: ev.Event, handle: Handle[Key] | None
    ) -> None:
        history = self._store.read(workflow_id, run_id, 1)
        started = history[0] if history else None
        parent = started.parent if isinstance(started, ev.WorkflowStarted) else None
        self._after_close(workflow_id, run_id, closing, parent, handle)

    def _record_supervision(self, workflow_id: str, run_id: str, events: list[ev.Event]) -> bool:
        """Append what the supervisor saw, even racing the dead actor's last append."""
        for _ in range(5):
            head = self._recorder.head(workflow_id, run_id)
            try:
                self._recorder.submit(workflow_id, run_id, events, head).result(
                    timeout=_SUPERVISION_TIMEOUT
                )
                return True
            except SequenceConflict:
                continue
            except AionError:
                log.exception("could not record %s for run %s", events[0].kind, run_id)
                return False
        return False

    # -- shutdown

    def close(self) -> None:
        self._closed = True
        self._recovery.shutdown(wait=True, cancel_futures=True)
        self.evictor.close()
        self.timers.close()
        self._sup.stop()
        self._background.shutdown(wait=True)


_WORKFLOW_MOVES = (ev.ActivityScheduled, ev.TimerStarted, ev.TimerCancelled, ev.ChildStarted)


def _run_key(info: ChildInfo) -> Key:
    """The (workflow_id, run_id) a run child was started under."""
    key: tuple[object, object] = info.key  # type: ignore[assignment]
    return str(key[0]), str(key[1])


def _needs_replay(history: Sequence[ev.Event]) -> bool:
    """Whether a recovered run must be replayed now rather than when next addressed.

    A run whose last event is one its workflow issued had seen everything
    before it and is blocked on what it awaits; anything else (an outcome
    it may not have seen, a crash awaiting its restart) needs the actor.
    """
    last = history[-1]
    if isinstance(last, ev.ActivityAttemptFailed) and last.retry_at is not None:
        return False
    return not isinstance(last, _WORKFLOW_MOVES)


def _restart_ages(
    history: Sequence[ev.Event], definition: WorkflowDefinition | None
) -> tuple[float, ...]:
    """Ages of recorded restarts, so a run's restart budget survives an engine restart."""
    window = (definition.restart if definition else DEFAULT_RUN_RESTART).within_seconds
    now = time.time_ns()
    ages: list[float] = []
    for event in history:
        if isinstance(event, ev.RunResumed):
            ages.clear()
        elif isinstance(event, ev.RunRestarted):
            ages.append((now - event.recorded_at) / 1e9)
    return tuple(age for age in ages if age < window)
