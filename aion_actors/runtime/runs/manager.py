"""`RunManager`: builds the run table's parts, answers the engine's verbs, and is the
`RunHost` the run actors (and the `Supervision` the run supervisor) report to.

It holds no run state of its own — that is the table's — and decides
nothing: each verb and each report goes to the one part whose job it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pykka

from aion_actors.core import (
    MAX_PAYLOAD_BYTES,
    ActivityToken,
    PayloadConverter,
    RunKey,
)
from aion_actors.core import events as ev
from aion_actors.runtime import messages as msg
from aion_actors.runtime.attempts import Attempts
from aion_actors.runtime.catalog import Catalog
from aion_actors.runtime.clock import SYSTEM_CLOCK, Clock
from aion_actors.runtime.definitions import RetryPolicy, WorkflowDefinition
from aion_actors.runtime.evictor import Evictor
from aion_actors.runtime.executors import Executors
from aion_actors.runtime.host import Handoff, Incarnation
from aion_actors.runtime.lane import Lane
from aion_actors.runtime.ledger import Ledger
from aion_actors.runtime.quiet import Quiet
from aion_actors.runtime.runs import answered, due
from aion_actors.runtime.runs.closings import Closings, Elsewhere
from aion_actors.runtime.runs.dropping import drop_runs
from aion_actors.runtime.runs.elsewhere import ChildrenElsewhere, Remote, Then
from aion_actors.runtime.runs.endings import Endings
from aion_actors.runtime.runs.entry import Presence, RunCounters
from aion_actors.runtime.runs.externals import Externals
from aion_actors.runtime.runs.policies import StartPolicy
from aion_actors.runtime.runs.port import Port
from aion_actors.runtime.runs.recovery import Recovery
from aion_actors.runtime.runs.requests import Requests
from aion_actors.runtime.runs.resets import Resets
from aion_actors.runtime.runs.residency import Residency
from aion_actors.runtime.runs.starts import NewRun, Started, Starts
from aion_actors.runtime.runs.table import RunTable
from aion_actors.runtime.runs.unstarted import unstarted
from aion_actors.runtime.runs.waiters import TypeWaiters
from aion_actors.runtime.runs.wakes import Wakes
from aion_actors.runtime.runs.whereabouts import Whereabouts, whereabouts
from aion_actors.runtime.timers import TimerService
from aion_actors.runtime.update_calls import LookUp
from aion_actors.store import DueTimer, EventStore, Recorder
from aion_actors.telemetry import RunCounts
from aion_actors.workers import CancelReason, Outcome
from supervisor import ChildInfo, Dispatcher, ExitReason

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
        clock: Clock = SYSTEM_CLOCK,
        dispatcher: Dispatcher,
    ) -> None:
        self.max_payload_bytes = max_payload_bytes
        #: where every time the runs record comes from (see `runtime.clock`)
        self.clock = clock
        #: the payload converter, None for the default (which changes nothing)
        self.converter = converter
        self.dispatcher = dispatcher  # the run actors' threads; closed by `close`
        self._recorder = recorder
        self._catalog = catalog
        self._table = RunTable()
        self._counters = RunCounters()
        self._owner_lane = Lane("aion-runs", clock.settled)
        self._rehydrate_lane = Lane("aion-rehydrate", clock.settled)
        self._waiters = TypeWaiters(lambda n: catalog.workflow(n) is not None, self._owner_lane)
        self._evictor = Evictor(self._evict, max_resident=max_resident, idle_after=idle_evict_after)
        self._timers = TimerService(store, self._timer_due, clock)
        self._residency = Residency(
            self._table,
            self._waiters,
            store,
            catalog,
            self,
            self,
            evictor=self._evictor,
            lane=self._rehydrate_lane,
            counters=self._counters,
            telemetry=recorder.telemetry,
        )
        self._spawn_lane = Lane("aion-spawn", clock.settled)  # closed after the table shuts
        self._wake_lane = Lane("aion-wake", clock.settled)  # (see `spawning`, `wakes`)
        self._answers_lane = Lane("aion-update-answers", clock.settled)  # (see `answered`)
        self._starts = Starts(
            self._table, self._residency, store, self._spawn_lane, self, dispatcher.lend
        )
        self._resets = Resets(self._table, self._residency, store, recorder, catalog, self._waiters)
        self._endings = Endings(
            self._table,
            self._residency,
            self._starts,
            self._waiters,
            store,
            recorder,
            catalog,
            lane=self._owner_lane,
            counters=self._counters,
            resets=self._resets,
            wakes=Wakes(self._wake_lane, lambda: dispatcher.idle),
        )
        self._requests = Requests(
            self._table,
            self._residency,
            self._starts,
            self._endings,
            store,
            catalog,
            max_payload_bytes=max_payload_bytes,
            converter=converter,
        )
        self._externals = Externals(
            self._table, self._residency, self._endings, store, lane=self._owner_lane
        )
        self._attempts = Attempts(catalog, executors, self._deliver_outcome)
        lanes = [self._owner_lane, self._rehydrate_lane, self._spawn_lane, self._wake_lane]
        lanes.append(self._answers_lane)
        clock.watch(Quiet(self._table, self._evictor, self._attempts, lanes, store, clock.now_ns))
        moving = (self._table, self._residency, self._starts, self._endings, self._waiters)
        self._recovery = Recovery(*moving, self._attempts, store, catalog)
        self._store = store
        self._closings = Closings(self._table, store, self.whereabouts)
        #: the verbs that do not wait, for `aion_actors.aio`
        parts = (self._table, self._starts, self._requests, self._residency, catalog)
        self.port = Port(*parts, self._closings)
        recorder.when_available(self._store_writes_again)
        recorder.telemetry.watch_runs(self._run_counts)

    # -- the engine's verbs

    def recover(self, within: Callable[[str], bool] | None = None) -> int:
        """List every open run (`within`: of those workflow_ids), restart what was in flight;
        only then report due timers (a due timer reported before its run is listed would
        find no one to wake)."""
        try:
            woken = self._recovery.recover(within)
            self._resets.recover(within)
            return woken
        finally:
            self._timers.start()

    def drop(self, within: Callable[[str], bool], error: Callable[[RunKey], BaseException]) -> int:
        """Runs of those workflow_ids leave this engine at once (another node owns them)."""
        if self._endings.elsewhere is not None:  # children whose parents stay here
            self._endings.elsewhere.moved(within)
        return drop_runs(self._table, within, error)

    def start_many(
        self, definition: WorkflowDefinition, new: Sequence[NewRun], policy: StartPolicy | None
    ) -> list[Started]:
        return self._starts.create(definition, new, refuse_open=True, policy=policy)

    def signal_with_start(
        self, definition: WorkflowDefinition, run: NewRun, timeout: float | None
    ) -> RunKey:
        return self._requests.signal_with_start(definition, run, timeout)

    def open_run(self, workflow_id: str) -> str | None:
        return self._table.open_run(workflow_id)

    def send(self, key: RunKey, request: msg.RequestMessage) -> None:
        """Hand `request` to the run without waiting; its ack tells how it went."""
        self._endings.send(key, request)

    def signal(self, key: RunKey, name: str, payload: Any, timeout: float | None) -> None:
        self._requests.signal(key, name, payload, timeout)

    def cancel(self, key: RunKey, reason: str, timeout: float | None) -> None:
        self._requests.cancel(key, reason, timeout)

    def terminate(self, key: RunKey, reason: str, timeout: float | None) -> None:
        self._requests.terminate(key, reason, timeout)

    def request(self, key: RunKey, request: msg.RequestMessage, timeout: float | None) -> None:
        self._requests.request(key, request, timeout)

    def reset(self, key: RunKey, to_seq: int, reason: str, timeout: float | None) -> str:
        return self._resets.reset(key, to_seq, reason, timeout, self._requests.request)

    def complete_activity(
        self, token: ActivityToken, outcome: Outcome, timeout: float | None
    ) -> None:
        self._requests.complete_activity(token, outcome, timeout)

    def query(self, key: RunKey, name: str, args: Sequence[Any], timeout: float | None) -> Any:
        return self._requests.query(key, name, args, timeout)

    def update(
        self,
        key: RunKey,
        name: str,
        payload: Any,
        update_id: str,
        timeout: float | None,
        fresh: bool = False,
    ) -> ev.UpdateCompleted:
        return self._requests.update(key, name, payload, update_id, timeout, fresh)

    def resume(self, key: RunKey) -> bool:
        return self._endings.resume(key)

    def wait_closed(
        self, key: RunKey, timeout: float | None = None, *, raise_on_park: bool = False
    ) -> tuple[RunKey, ev.Event]:
        with self.clock.waiting(key.workflow_id):  # a virtual clock may skip to its timers
            return self._closings.wait_closed(key, timeout, raise_on_park=raise_on_park)

    def wait_elsewhere(self, wait: Elsewhere, remote: Remote) -> None:
        """A node's: how to wait for, and reach, runs other nodes hold (children, targets)."""
        self._closings.elsewhere, self._externals.remote = wait, remote
        self._closings.watch, self._closings.moved = remote.when_closed, remote.moved
        self._residency.held_elsewhere, lane = remote.moved, self._owner_lane
        parts = (self._store, self._residency.deliver, self._endings.notify_parent)
        self._endings.elsewhere = ChildrenElsewhere(remote, *parts, lane=lane)
        self._requests.hand_on = remote.hand_on  # (queues the write: never blocks, see Remote)

    def external(self, event: ev.ExternalRequested, request_id: str, answer: Then) -> None:
        """A node's: apply another node's run's request to a run held here."""
        self._externals.apply(event, request_id, answer)

    def when_closed(self, key: RunKey, callback: Callable[[], None]) -> None:
        self._closings.when_closed(key, callback)

    def whereabouts(self, key: RunKey) -> Whereabouts:
        parts = (self._table, self._recorder, self._catalog, self._waiters, self._attempts)
        return whereabouts(key, *parts)

    def registered(self, workflows: Sequence[str], activities: Sequence[str]) -> None:
        """New definitions: wake what waited for them."""
        self._waiters.registered(workflows)
        if activities:
            self._owner_lane.submit(self._attempts.registered, list(activities))

    def stats(self) -> dict[str, int]:
        c, n = self._counters, self._run_counts().resident
        return dict(crashes=c.crashes, restarts=c.restarts, rehydrations=c.rehydrations, resident=n)

    def _run_counts(self) -> RunCounts:
        entries = self._table.entries()
        resident = sum(e.presence is Presence.LIVE for e in entries)
        return RunCounts(resident=resident, open=sum(e.closing is None for e in entries))

    def wait_resident_within_limit(self, timeout: float) -> bool:
        """Block until eviction has brought resident runs down to `max_resident`."""
        return self._evictor.wait_within_limit(timeout)

    def drain(self, timeout: float) -> int:
        return self._attempts.drain(timeout)  # (see `Attempts.drain`)

    def close(self) -> None:
        self._attempts.closed = True
        self._rehydrate_lane.close(drop=True)
        self._owner_lane.close(drop=True)
        self._answers_lane.close(drop=True)
        self._endings.rewrites.close()
        self._evictor.close()
        self._timers.close()
        self._residency.close()
        self._spawn_lane.close()
        self._wake_lane.close()
        self.dispatcher.close(timeout=_CLOSE_TIMEOUT)

    # -- RunHost: what the run actors ask and report

    @property
    def recorder(self) -> Recorder:
        return self._recorder

    def handoff(self, key: RunKey, generation: int) -> Handoff | None:
        return self._residency.handoff(key, generation)

    def start_failed(self, key: RunKey, error: BaseException, start: msg.Ack | None = None) -> None:
        entry = self._table.get(key)
        self._residency.refuse(key, self._table.withdraw(key))
        if entry is not None and entry.parent:  # a child or a successor: its starter did not wait
            unstarted(key, entry.parent, error, self._table.shut_down, self._residency.deliver)
        if start is not None:  # (after the withdrawal: a new start of the id may succeed)
            start.resolve(error)

    def incarnation(
        self, key: RunKey, generation: int, ref: pykka.ActorRef[Any]
    ) -> Incarnation | None:
        return self._residency.incarnation(key, generation, ref)

    def workflow(self, name: str) -> WorkflowDefinition | None:
        return self._catalog.workflow(name)

    def retry_policy(self, activity: str) -> RetryPolicy | None:
        return self._catalog.retry_policy(activity)

    def dispatch(self, key: RunKey, event: ev.ActivityScheduled, heartbeat: Any = None) -> None:
        self._attempts.dispatch(*key, event, heartbeat)

    def cancel_attempt(self, key: RunKey, activity_id: str, reason: CancelReason) -> None:
        self._attempts.cancel(*key, activity_id, reason)

    def activity_cancel(self, name: str) -> str:
        definition = self._catalog.activity(name)
        return definition.cancel if definition is not None else "try"

    def arm_timer(self, fire_at: int) -> None:
        self._timers.arm(fire_at)

    def start_child(self, key: RunKey, event: ev.ChildStarted) -> None:
        self._endings.start_child(key, event)

    def request_external(self, key: RunKey, event: ev.ExternalRequested) -> None:
        self._externals.request(key, event)

    def cancel_children(self, children: list[ev.ChildStarted], reason: str) -> None:
        self._owner_lane.submit(self._endings.cancel_children, children, reason)

    def run_closed(self, key: RunKey, event: ev.Event) -> None:
        self._endings.run_closed(key, event)
        self.clock.settled()

    def run_idle(self, key: RunKey, idle: bool) -> None:
        self._evictor.idle(key, idle)

    def waits_for_time(self, key: RunKey, ledger: Ledger) -> bool:
        held = self._attempts.held(*key)  # (none without rate limits: nothing to count)
        return held >= len(ledger.running_attempts()) if held else not ledger.busy

    def run_stalled(self, key: RunKey, generation: int, inputs: list[object]) -> bool:
        return self._table.stall(key, generation, inputs)

    def run_evicted(self, key: RunKey, generation: int) -> bool:
        evicted = self._table.evicted(key, generation)
        if evicted and (entry := self._table.get(key)) is not None:
            self._recorder.telemetry.evicted(entry.workflow_type)
        return evicted

    def redeliver(self, key: RunKey, message: object, generation: int) -> None:
        """A message the incarnation `generation` will not handle goes to the next one."""
        with self._table.lock(key.workflow_id):
            self._table.lost(key, generation)
            if isinstance(message, msg.RequestMessage):
                self._endings.send(key, message)
            else:
                self._residency.deliver(key, message)

    def look_up_update(self, key: RunKey, look: LookUp, ref: pykka.ActorRef[Any]) -> None:
        answered.search(self._answers_lane, self._store, key, look, ref)

    # -- Supervision: what the run supervisor decides, in its thread

    def on_exit(self, info: ChildInfo, reason: ExitReason, exc: BaseException | None) -> None:
        self._endings.on_exit(info, reason, exc)
        self.clock.settled()

    def on_restart(self, info: ChildInfo, delay: float) -> None:
        self._endings.on_restart(info, delay)

    def on_exhausted(
        self, info: ChildInfo, reason: ExitReason, exc: BaseException | None, action: str
    ) -> None:
        self._endings.on_exhausted(info, reason, exc, action)

    # -- what the executors, the timers and the evictor report

    def _deliver_outcome(
        self, workflow_id: str, run_id: str, message: object, then: Callable[[], None]
    ) -> None:
        self._residency.deliver(RunKey(workflow_id, run_id), message, then)
        self.clock.settled()  # the attempt may be over and its run closed

    def _store_writes_again(self) -> None:
        """Told in the recorder's thread: runs that waited for the store come back."""
        self._rehydrate_lane.submit(self._residency.resume_stalled)

    def _timer_due(self, timer: DueTimer) -> None:
        due.route(timer, self._endings.send, self._residency.deliver)

    def _evict(self, key: object) -> None:
        assert isinstance(key, RunKey)
        self._residency.evict(key)
