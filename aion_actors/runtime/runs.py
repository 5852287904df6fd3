"""RunManager: the run table, the run supervisor, and every road into a run.

It is the `RunHost` the actors talk to. It starts runs, rehydrates evicted
ones by replay, routes activity results, timers, signals and child closures
to whichever incarnation is current, records what the supervisor decides
(`RunCrashed`, exhaustion), and resolves result waiters when a run closes.
The registry of handles is a cache: the store's run index is the truth.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pykka

from aion_actors.core import (
    MAX_PAYLOAD_BYTES,
    AionError,
    PayloadConverter,
    WorkflowStatus,
    faults,
)
from aion_actors.core import events as ev
from aion_actors.runtime import messages as msg
from aion_actors.runtime.actor import RunActor
from aion_actors.runtime.attempts import Attempts
from aion_actors.runtime.catalog import Catalog
from aion_actors.runtime.closing import after_close, cancel_children, mark_closed, start_child
from aion_actors.runtime.definitions import DEFAULT_RUN_RESTART, RetryPolicy, WorkflowDefinition
from aion_actors.runtime.evictor import Evictor
from aion_actors.runtime.executors import Executors
from aion_actors.runtime.host import Incarnation
from aion_actors.runtime.recovery import (
    Waiter,
    recover,
    registered,
    restart_ages,
    wait_for_type,
    waiting_for,
)
from aion_actors.runtime.requests import send_request
from aion_actors.runtime.starts import NewRun, Started, create
from aion_actors.runtime.supervision import (
    on_exhausted,
    on_exit,
    on_restart,
    record_supervision,
)
from aion_actors.runtime.timers import TimerService
from aion_actors.store import DueTimer, EventStore, Recorder
from supervisor import (
    ChildSpec,
    Dispatcher,
    DuplicateChild,
    Handle,
    Registry,
    Residency,
    Supervisor,
)

log = logging.getLogger("aion_actors.runtime")

Key = tuple[str, str]
_STRIPES = 64
#: run actors share these threads: one runs at a time, the others stand in
#: while a handler blocks (a child's start, a crash's settling, a slow step)
_DISPATCHER_THREADS = 4
#: how long `close` waits for a run handler that does not return (a workflow step stuck in a loop)
_CLOSE_TIMEOUT = 10.0


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
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
        converter: PayloadConverter | None = None,
    ) -> None:
        self.max_payload_bytes = max_payload_bytes
        self.converter = converter  # the payload converter, None for the default
        self._store = store
        self._recorder = recorder
        self._catalog = catalog
        self.attempts = Attempts(catalog, executors, self.deliver)
        self.registry: Registry[Key] = Registry()
        self._open: dict[str, str] = {}
        self._stripes = [threading.RLock() for _ in range(_STRIPES)]
        self._incarnations: dict[Key, Incarnation] = {}
        self._handoff: dict[Key, list[ev.Event]] = {}
        #: what waits for a workflow type to be registered, by type (see recovery)
        self._awaiting: dict[str, dict[Hashable, Waiter]] = {}
        self._closed = False
        self.counters = {"crashes": 0, "restarts": 0, "rehydrations": 0}
        self._background = ThreadPoolExecutor(4, thread_name_prefix="aion-runs")
        self._recovery = ThreadPoolExecutor(1, thread_name_prefix="aion-recovery")
        self._rehydrator = ThreadPoolExecutor(1, thread_name_prefix="aion-rehydrate")
        self._on_exit = functools.partial(on_exit, self)
        self._on_restart = functools.partial(on_restart, self)
        self._on_exhausted = functools.partial(on_exhausted, self)
        self.timers = TimerService(store, self._timer_due)
        self.dispatcher = Dispatcher(_DISPATCHER_THREADS, name="aion-run")
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
    ) -> bool:
        """Record `WorkflowStarted` and start the run's actor; False if the run existed."""
        [outcome] = create(self, definition, [NewRun(workflow_id, run_id, args, parent)], False)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def create_many(
        self,
        definition: WorkflowDefinition,
        new: Sequence[NewRun],
        *,
        refuse_open: bool,
    ) -> list[Started]:
        """Start several runs on shared commits; see `starts.create`."""
        return create(self, definition, new, refuse_open)

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
        """List every open run as evicted, then restart what was in flight (see recovery)."""
        return recover(self)

    def start_child(self, workflow_id: str, run_id: str, event: ev.ChildStarted) -> None:
        start_child(self, workflow_id, run_id, event)

    def cancel_children(self, children: list[ev.ChildStarted], reason: str) -> None:
        cancel_children(self, children, reason)

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
        try:
            info = self._sup.start_child(spec)  # its on_start has registered it by now
        except BaseException:  # not started: the next message rehydrates it
            self.registry.update(
                key, lambda h: h.replace(residency=Residency.EVICTED) if h.ref is None else h
            )
            raise
        self.evictor.started()
        ref = info.ref

        def started(handle: Handle[Key]) -> Handle[Key]:
            # Only the pid is new: the incarnation registered its ref in on_start, and
            # it may have been evicted (or have crashed and restarted) since.
            if handle.residency != Residency.RESIDENT or handle.ref not in (None, ref):
                return handle
            return handle.replace(pid=info.pid, ref=ref)

        self.registry.update(key, started)
        assert isinstance(ref, pykka.ActorRef)
        self.counters["rehydrations"] += 1
        return ref

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
                reason = f"workflow type {handle.kind!r} is not registered"
                waiter = Waiter(key, reason, functools.partial(self.actor, workflow_id, run_id))
                wait_for_type(self, handle.kind, ("run", key), waiter)
                return None
            if faults.ARMED:
                faults.hit("rehydrate")
            try:
                history = self._store.read(workflow_id, run_id)
            except AionError:  # the actor reads it again, and parks the run naming the seq
                ages: tuple[float, ...] = ()
            else:
                self._handoff[key] = history
                ages = restart_ages(history, definition)
            try:
                return self._spawn(workflow_id, run_id, definition, ages)
            except DuplicateChild:  # evicted a moment ago: the supervisor has yet to forget it
                self._await_gone(key)
                return self._spawn(workflow_id, run_id, definition, ages)

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
        found = info.ref
        self.registry.update(
            key,
            lambda h: (
                h.replace(pid=info.pid, ref=found)
                if h.residency == Residency.RESIDENT and h.ref is ref
                else h
            ),
        )
        return found

    def deliver(
        self,
        workflow_id: str,
        run_id: str,
        message: object,
        then: Callable[[], None] | None = None,
    ) -> None:
        """Tell the run `message`, then call `then` (the message is in its inbox, or
        the run cannot be reached: closed, restarting).

        A resident run is told at once. An evicted one is rehydrated by replay on
        the engine's one rehydration thread: the senders (activity threads,
        timers) go on at once instead of contending to rebuild runs.
        """
        if _told(self._resident((workflow_id, run_id)), message):
            if then is not None:
                then()
            return
        try:
            self._rehydrator.submit(self._deliver_now, workflow_id, run_id, message, then)
        except RuntimeError:  # closed
            if then is not None:
                then()

    def _deliver_now(
        self, workflow_id: str, run_id: str, message: object, then: Callable[[], None] | None
    ) -> None:
        try:
            for _ in range(3):
                ref = self.actor(workflow_id, run_id)
                if ref is None or _told(ref, message):
                    return
        except Exception:  # nobody waits on this thread's futures: say it here
            log.exception("delivering %r to run %s failed", message, run_id)
        finally:
            if then is not None:
                then()

    def redeliver(self, workflow_id: str, run_id: str, message: object, stale: str) -> None:
        """Deliver to the next incarnation, once the one with actor urn `stale` has gone."""
        key = (workflow_id, run_id)

        def later() -> None:
            self._await_gone(key, stale)
            self.deliver(workflow_id, run_id, message)

        if not self._closed:
            self._background.submit(later)

    def _await_gone(self, key: Key, stale: str | None = None, timeout: float = 10.0) -> None:
        """Wait until the supervisor has forgotten the last incarnation of `key`, or
        (after a crash) runs a new one in place of the actor with urn `stale`."""
        deadline = time.monotonic() + timeout
        while not self._closed and time.monotonic() < deadline:
            info = self._sup.lookup(key)
            if info is None:
                return
            ref = info.ref
            if (
                isinstance(ref, pykka.ActorRef)
                and stale not in (None, ref.actor_urn)
                and ref.is_alive()
            ):
                return
            time.sleep(0.001)

    def _evict(self, key: Hashable) -> None:
        _told(self._resident(key), msg.Evict())  # type: ignore[arg-type]

    def request(
        self, workflow_id: str, run_id: str, build: Callable[[msg.Ack], object], timeout: float
    ) -> None:
        """Deliver a change request and wait until its event is committed (see requests)."""
        send_request(self, workflow_id, run_id, build, timeout)

    def registered(self, names: Sequence[str]) -> None:
        """New definitions: wake what waited for them (see recovery.registered)."""
        registered(self, names)

    def waiting_for(self, workflow_id: str, run_id: str) -> str | None:
        """Why a recovered run cannot go on yet, if it waits for a registration."""
        return waiting_for(self, workflow_id, run_id)

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
            if not record_supervision(self, workflow_id, run_id, [closing]):
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
        self.registry.update(key, lambda h: h.replace(ref=ref, residency=Residency.RESIDENT))
        return self._incarnations.pop(key, None) or Incarnation(pid=0)

    def workflow(self, name: str) -> WorkflowDefinition | None:
        return self._catalog.workflow(name)

    def retry_policy(self, activity: str) -> RetryPolicy | None:
        definition = self._catalog.activity(activity)
        return definition.retry if definition is not None else None

    def dispatch(self, workflow_id: str, run_id: str, event: ev.ActivityScheduled) -> None:
        self.attempts.dispatch(workflow_id, run_id, event)

    def arm_timer(self, fire_at: int) -> None:
        self.timers.arm(fire_at)

    def _timer_due(self, timer: DueTimer) -> None:
        if faults.ARMED:
            faults.hit("timer.firing")
        self.deliver(timer.workflow_id, timer.run_id, msg.TimerDue(timer.timer_id))

    def run_closed(self, workflow_id: str, run_id: str, event: ev.Event, parent: Any) -> None:
        handle = mark_closed(self, workflow_id, run_id, event)
        after_close(self, workflow_id, run_id, event, parent, handle)

    def run_idle(self, workflow_id: str, run_id: str, idle: bool) -> None:
        self.evictor.idle((workflow_id, run_id), idle)

    def run_evicted(self, workflow_id: str, run_id: str) -> None:
        self.registry.update(
            (workflow_id, run_id),
            lambda h: h.replace(residency=Residency.EVICTED, ref=None, pid=None),
        )

    # -- shutdown

    def close(self) -> None:
        self._closed = True
        self.attempts.closed = True
        self._recovery.shutdown(wait=True, cancel_futures=True)
        self._rehydrator.shutdown(wait=True, cancel_futures=True)
        self.evictor.close()
        self.timers.close()
        self._sup.stop()
        self._background.shutdown(wait=True)
        self.dispatcher.close(timeout=_CLOSE_TIMEOUT)


def _told(ref: pykka.ActorRef[Any] | None, message: object) -> bool:
    """Whether `message` is in the inbox of the actor behind `ref`."""
    if ref is None:
        return False
    try:
        ref.tell(message)
    except pykka.ActorDeadError:
        return False
    return True
