"""`Queues`: the engine's part that records queued runs and gives them slots.

`enqueue` records a run as queued — `WorkflowStarted` + `WorkflowQueued` in
its first commit — or, with a free slot for its key that no waiting run could
take, as started at once (`RunDequeued` in that same commit). A waiting run
gets its slot from `dispatch`, called by whatever frees one or adds a run (an
enqueue, a run of the queue closing, a queue registered); nobody polls. The
queue's state is rebuilt from the store when the queue is registered
(`rebuild`), so limits hold across an engine restart.

A queue with a `rate` gives a slot only when its window admits a start;
when runs wait for the rate alone, the queue arms the `Alarm` for the exact
instant the window admits the next, and dispatches then. A start counts
from its grant, with the time read after its commit (see `rates`).
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from aion_actors.config import QueueConfig
from aion_actors.core import (
    AionError,
    OperationRefused,
    RunKey,
    WorkflowAlreadyStarted,
    WorkflowClosed,
    payloads,
)
from aion_actors.core import events as ev
from aion_actors.queues import rebuild
from aion_actors.queues.order import Queued, QueueState
from aion_actors.queues.queue import EnqueueOptions, Queue, QueueDuplicate, checked, configured
from aion_actors.queues.spread import Spread
from aion_actors.registration import Registration
from aion_actors.runtime import messages as msg
from aion_actors.runtime.alarm import Alarm
from aion_actors.runtime.clock import Clock
from aion_actors.runtime.definitions import WorkflowDefinition
from aion_actors.runtime.lane import Lane
from aion_actors.runtime.runs import NewRun, RunManager, new_runs
from aion_actors.runtime.runs.policies import StartPolicy
from aion_actors.starting import Starter, options_checked, policy_of
from aion_actors.store import EventStore

log = logging.getLogger("aion_actors.queues")


class Queues:
    def __init__(
        self,
        runs: RunManager,
        starter: Starter,
        registration: Registration,
        store: EventStore,
        clock: Clock,
        files: Mapping[str, QueueConfig] | None = None,
        spread: Spread | None = None,
    ) -> None:
        self._runs = runs
        #: a node's: queues whose home is another node, runs on other nodes
        self._spread = spread
        #: every queue registered, by name (a node keeps the state of those homed here)
        self._queues: dict[str, Queue] = {}
        #: the `[queue.<name>]` tables of the engine's `aion.toml`
        self._files = files or {}
        self._starter = starter
        self._registration = registration
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._states: dict[str, QueueState] = {}
        self._counter = itertools.count()
        #: open runs of queues not registered yet, found in the store (read once, lazily)
        self._found: dict[str, list[rebuild.Found]] | None = None
        #: a node's dispatches after a run closed: off the thread that closed it
        self._lane = Lane("aion-queues")
        #: wakes a queue whose rate forbids a start until a known instant
        self._alarm = Alarm(clock, "aion-queue-rates")

    # -- registering

    def start(self) -> None:
        """Register the queues of the `aion.toml` (a `Queue` in code may follow)."""
        self.register([Queue(name) for name in self._files])

    def register(self, queues: Sequence[Queue]) -> None:
        """Make `queues` usable by `enqueue`, with their `[queue.<name>]` settings under
        theirs; each one's runs in the store join it."""
        for queue in queues:
            queue = configured(queue, self._files.get(queue.name))
            with self._lock:
                self._queues[queue.name] = queue
                state = self._states.get(queue.name)
                if state is not None:  # new limits for a registered queue
                    state.limits(queue)
                    found: list[rebuild.Found] = []
                elif self._spread is not None and not self._spread.home(queue.name):
                    continue  # its home gives its slots
                else:
                    state, found = self._build(queue)
            for item in found:
                self._watch(state, item.queued.run)
            if self._spread is not None:
                self._adopt(state)
            self.dispatch(state)

    def _build(self, queue: Queue) -> tuple[QueueState, list[rebuild.Found]]:
        """`queue`'s state from the store: its open runs, its last window (holding the lock)."""
        if self._spread is not None:  # (a new home: every node's runs, read now)
            found = rebuild.scan(self._store, self._spread.open_runs()).pop(queue.name, [])
        else:
            if self._found is None:
                self._found = rebuild.scan(self._store)
            found = self._found.pop(queue.name, [])
        state = self._states[queue.name] = QueueState(queue)
        for item in found:
            rebuild.restore(state, item)
        if state.window is not None:  # the starts of its last window
            since = self._clock.now_ns() - state.window.rate.per_ns
            for at in rebuild.recent_starts(self._store, queue.name, found, since):
                state.window.add(at)
        return state, found

    def _adopt(self, state: QueueState) -> None:
        """A new home: the slots its last home gave that are not recorded yet are held."""
        assert self._spread is not None
        for request_id, run in self._spread.granted(state.queue.name):
            with self._lock:
                item = state.unqueue(run)
                if item is None:
                    continue
                state.claim(run, item.key)
                if state.window is not None:
                    state.window.grant()
            self._spread.follow(request_id, functools.partial(self._dequeued, state, item))

    def taken(self, partitions: frozenset[int]) -> None:
        """A node took `partitions`: the queues homed in them are given their state."""
        if self._spread is None:
            return
        with self._lock:
            names = self._spread.homes_in(partitions, list(self._queues))
            homed = [self._queues[name] for name in names if name not in self._states]
        if homed:
            self.register(homed)

    def state(self, queue: Queue | str) -> QueueState:
        name = queue.name if isinstance(queue, Queue) else queue
        state = self._states.get(name)
        if state is None:
            raise ValueError(
                f"queue {name!r} is not registered in this engine; "
                f"engine.register(Queue({name!r}, ...)) first"
            )
        return state

    # -- enqueueing

    def enqueue(
        self,
        queue: Queue | str,
        workflow: WorkflowDefinition | str,
        args: Sequence[Any],
        workflow_id: str | None,
        options: EnqueueOptions,
    ) -> RunKey:
        """The run recorded as queued (or started, given a free slot); see the module doc."""
        name = queue.name if isinstance(queue, Queue) else queue
        there = self._spread is not None and not self._spread.home(name)
        state = self.state(queue) if not there else None
        rest: dict[str, Any] = dict(options)
        key, priority, dedup_id, raise_duplicate = checked(self._queue(name), rest)
        timeouts, memo = options_checked(rest)  # type: ignore[arg-type]
        policy = policy_of(rest)  # type: ignore[arg-type]
        definition = self._registration.workflow(workflow)
        inputs = payloads.encode_inputs(self._starter.converter, [args])
        ids = None if workflow_id is None else [workflow_id]
        [new] = new_runs(inputs, ids, self._runs.max_payload_bytes, timeouts, memo)
        if state is None:  # its home records it
            assert self._spread is not None
            return self._spread.enqueue(name, definition.name, new, dict(options))
        place = (key, priority, dedup_id, raise_duplicate)
        return self._place(state, definition, new, place, policy, rest)

    def enqueue_request(
        self,
        queue: str,
        workflow_type: str,
        run: RunKey,
        args: Sequence[Any],
        options: dict[str, Any],
    ) -> RunKey:
        """An enqueue made on another node, applied at the queue's home (again, after a
        home died: a run it knows, or that is recorded already, is the answer)."""
        state = self.state(queue)
        rest = dict(options)
        place = checked(state.queue, rest)
        timeouts, memo = options_checked(rest)  # type: ignore[arg-type]
        policy = policy_of(rest)  # type: ignore[arg-type]
        definition = self._registration.workflow(workflow_type)
        with self._lock:
            if run in state.running or state.holds(run):
                return run
        new = NewRun(run.workflow_id, run.run_id, args, None, timeouts, memo=memo)
        try:
            return self._place(state, definition, new, place, policy, rest)
        except WorkflowAlreadyStarted as exc:
            if exc.run_id != run.run_id:
                raise
            return run  # recorded by this request before

    def _place(
        self,
        state: QueueState,
        definition: WorkflowDefinition,
        new: NewRun,
        place: tuple[str | None, int, str | None, bool],
        policy: StartPolicy | None,
        options: dict[str, Any],
    ) -> RunKey:
        key, priority, dedup_id, raise_duplicate = place
        with self._lock:
            holder = state.dedup.get(dedup_id) if dedup_id is not None else None
            fast = (  # (it would be the next run `take` gives a slot to)
                holder is None
                and state.free(key)
                and state.admits(self._clock.now_ns())
                and not state.eligible()
            )
            if fast:
                state.claim(new.key, key)
                if state.window is not None:
                    state.window.grant()
            if holder is None and dedup_id is not None:
                state.hold(dedup_id, new.key)
        if holder is not None:
            assert dedup_id is not None
            if raise_duplicate:
                raise QueueDuplicate(state.queue.name, dedup_id, *holder)
            return holder
        queued = ev.WorkflowQueued(
            queue=state.queue.name, key=key, priority=priority, dedup_id=dedup_id
        )
        run = new.followed_by((queued, ev.RunDequeued()) if fast else (queued,))
        try:
            started = self._start(definition, run, policy, options)
        except BaseException:
            self._forget(state, new.key, fast)
            raise
        if started != new.key:  # a start policy handed back another run
            self._forget(state, new.key, fast)
            return started
        if fast and state.window is not None:
            with self._lock:  # (read after the commit: not before its recorded time)
                state.window.started(self._clock.now_ns())
        wanted = False  # (whether a slot may be free for it: if not, no dispatch could start it)
        if not fast:
            item = Queued(
                started, key, priority, dedup_id, (self._clock.now_ns(), next(self._counter))
            )
            with self._lock:
                state.add(item)
                wanted = state.free(key)
        self._watch(state, started)
        if wanted:
            self.dispatch(state)
        return started

    def _start(
        self,
        definition: WorkflowDefinition,
        run: NewRun,
        policy: StartPolicy | None,
        options: dict[str, Any],
    ) -> RunKey:
        """Record `run` here, or on the node its partition is on."""
        if self._spread is not None and not self._spread.owns(run.workflow_id):
            return self._spread.start(definition.name, run, options)
        [started] = self._starter.start_new(definition, [run], policy)
        return started

    def _queue(self, name: str) -> Queue:
        if (queue := self._queues.get(name)) is None:
            self.state(name)  # (raises, naming it)
        assert queue is not None
        return queue

    def _forget(self, state: QueueState, run: RunKey, granted: bool) -> None:
        """A run that was not recorded: its claim, its start (if `granted`) and dedup_id go."""
        with self._lock:
            freed = state.closed(run)
            if granted and state.window is not None:
                state.window.withdraw()
        if freed:
            self.dispatch(state)

    # -- giving slots

    def dispatch(self, state: QueueState) -> None:
        """Give every free slot to the next waiting run: it records `RunDequeued` and runs.
        Runs left waiting for the rate alone: the alarm dispatches again when it allows.
        A node that is no longer the queue's home drops its state (the home rebuilt it)."""
        if self._spread is not None and not self._spread.home(state.queue.name):
            with self._lock:
                if self._states.get(state.queue.name) is state:
                    del self._states[state.queue.name]
            return
        with self._lock:
            now = self._clock.now_ns()
            taken = state.take(now)
            wake_at = state.next_start(now)
        if wake_at is not None:
            self._alarm.arm(state.queue.name, wake_at, functools.partial(self.dispatch, state))
        for item in taken:
            done = functools.partial(self._dequeued, state, item)
            if self._spread is None or self._spread.owns(item.run.workflow_id):
                self._runs.send(item.run, msg.DequeueRequest(msg.Ack(done)))
                continue
            try:  # a run of another node: its node records the slot
                self._spread.dequeue(state.queue.name, item.run, done)
            except AionError as exc:
                done(exc)

    def _dequeued(self, state: QueueState, item: Queued, error: BaseException | None) -> None:
        if state.window is not None:
            with self._lock:
                if error is None:  # (read after the commit: not before its recorded time)
                    state.window.started(self._clock.now_ns())
                else:
                    state.window.withdraw()
                again = state.waiting > 0
            if again:  # the window may admit more now its time is known (at once, by alarm)
                self._alarm.arm(state.queue.name, 0, functools.partial(self.dispatch, state))
        if error is None or isinstance(error, OperationRefused | WorkflowClosed):
            return  # recorded; or dequeued already; or closed (its closing frees the slot)
        log.warning("run %s of queue %r could not start: %r", item.run, state.queue.name, error)
        with self._lock:  # it waits again, first in line, for the next dispatch
            if state.release(item.run):
                state.add(item)

    def _watch(self, state: QueueState, run: RunKey) -> None:
        if self._spread is not None and not self._spread.owns(run.workflow_id):
            self._spread.watch(run, lambda: self._closed(state, run))
        else:
            self._runs.when_closed(run, lambda: self._closed(state, run))

    def _closed(self, state: QueueState, run: RunKey) -> None:
        with self._lock:  # (a run enqueued after this look dispatches by itself)
            freed = state.closed(run) and state.waiting > 0
        if freed and self._spread is None:  # it only tells runs: at once, on this thread
            self.dispatch(state)
        elif freed:  # (a node's dispatch may wait for another node)
            self._lane.submit(self.dispatch, state)

    # -- cancelling a queued run

    def cancel(self, workflow_id: str, reason: str, timeout: float | None) -> bool:
        """Cancel the open run of `workflow_id` if it waits in a queue: it ends cancelled,
        its code never ran. False if it does not wait in one (cancel it as any run)."""
        if (run_id := self._runs.open_run(workflow_id)) is None:
            return False
        run = RunKey(workflow_id, run_id)
        with self._lock:
            held = [(s, item) for s in self._states.values() if (item := s.unqueue(run))]
        if not held and self._spread is None:
            return False  # (a node: its queue's home may be another node; ask the run)
        try:
            self._runs.request(run, msg.CancelQueuedRequest(reason, msg.Ack()), timeout)
        except OperationRefused:  # it was dequeued after all: cancel it as a running run
            return False
        return True

    # -- lifecycle

    def stats(self) -> dict[str, int]:
        with self._lock:
            states = list(self._states.values())
            return {
                "queued": sum(s.waiting for s in states),
                "queue_running": sum(len(s.running) for s in states),
            }

    def close(self) -> None:
        if self._spread is not None:
            self._spread.close()
        self._alarm.close()
        self._lane.close(drop=True)
