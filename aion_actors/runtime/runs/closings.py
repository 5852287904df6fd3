"""Waiting for runs to end: `result()`, `when_closed`, following continue-as-new and resets.

The run table wakes the waiters of a run when it closes it (one latch per
wait, set by whoever closes the run); a run this engine no longer holds
answers from the store — or, on a node, once the node that holds it has
closed it, or parked it for a caller that asked to hear of a park (`elsewhere`,
`watch`: its owner's append answers). Nobody polls.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aion_actors.core import (
    AionError,
    EngineClosed,
    OwnershipLost,
    RunKey,
    WorkflowNotFound,
    WorkflowParked,
    WorkflowStatus,
)
from aion_actors.core import events as ev
from aion_actors.runtime import client_calls
from aion_actors.runtime.runs.entry import Presence
from aion_actors.runtime.runs.table import RunTable
from aion_actors.runtime.runs.whereabouts import Whereabouts, overdue
from aion_actors.store import EventStore, RunSummary

log = logging.getLogger("aion_actors.runtime")

#: waits up to the seconds given (None: for good) until a run this engine does not hold
#: has closed on another node (or, if the flag is set, parked there); False when the time
#: ran out
Elsewhere = Callable[[RunKey, float | None, bool], bool]
#: `then()` once a run another node holds has closed (or, the flag set, parked) there;
#: returns what withdraws the watch
Watch = Callable[[RunKey, Callable[[], None], bool], Callable[[], None]]


class Closings:
    def __init__(
        self, table: RunTable, store: EventStore, whereabouts: Callable[[RunKey], Whereabouts]
    ) -> None:
        self._table = table
        self._store = store
        #: what only this engine knows of an open run: why it waits, for a wait that times out
        self._whereabouts_of = whereabouts
        #: a node's: how to wait for runs held by other nodes (see `aion_actors.nodes`)
        self.elsewhere: Elsewhere | None = None
        #: a node's: `then()` once a run another node holds has closed, or parked if asked
        #: (nobody blocks); returns what withdraws the watch, for a caller that stops
        #: waiting first
        self.watch: Watch | None = None
        #: a node's: `OwnershipLost` naming the owner of run key's partition, None if it
        #: is this node's (see `Remote.moved`)
        self.moved: Callable[[RunKey], AionError | None] | None = None

    def wait_closed(
        self, key: RunKey, timeout: float | None = None, *, raise_on_park: bool = False
    ) -> tuple[RunKey, ev.Event]:
        """Block until the run closes, following continue-as-new to the last run: that
        run and its closing event. `TimeoutError` after `timeout`, `WorkflowParked`
        while it is parked if `raise_on_park`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            closing = self._wait_one(key, deadline, timeout, raise_on_park)
            if not isinstance(closing, ev.WorkflowContinuedAsNew | ev.WorkflowReset):
                return key, closing
            key = RunKey(key.workflow_id, closing.next_run_id)

    def _wait_one(
        self, key: RunKey, deadline: float | None, timeout: float | None, raise_on_park: bool
    ) -> ev.Event:
        while True:
            if self._table.shut_down:  # (it woke this waiter: no run here will close now)
                raise EngineClosed()
            watched = self._table.watch(key)
            if watched is None:
                return self._closing_in_store(key, deadline, timeout, raise_on_park)
            entry, latch = watched
            if raise_on_park and entry.presence is Presence.PARKED:
                self._table.unwatch(key, latch)
                raise WorkflowParked(key.workflow_id, key.run_id, entry.reason or "")
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not latch.wait(left):
                self._table.unwatch(key, latch)
                state = entry.status.value
                if entry.presence is Presence.PARKED:  # waited through (raise_on_park=False)
                    state += f": {entry.reason or 'no reason recorded'}"
                raise overdue(key, timeout, state, self._whereabouts_of(key))
            if entry.closing is not None:
                return entry.closing

    def _closing_in_store(
        self,
        key: RunKey,
        deadline: float | None = None,
        timeout: float | None = None,
        raise_on_park: bool = False,
        run: RunSummary | None = None,
    ) -> ev.Event:
        run = run or self._store.get_run(*key)
        if run is None:
            raise WorkflowNotFound(key.workflow_id, key.run_id)
        while self.elsewhere is not None and not run.status.is_terminal:
            self._refuse_parked(key, run, raise_on_park)
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            # (no time left: the store just said it is open, its owner would say no more)
            if left == 0 or not self.elsewhere(key, left, raise_on_park):
                raise self.overdue_elsewhere(key, timeout, run.status)
            run = self._store.get_run(*key) or run
        last = self._store.read(*key, run.head)
        if not run.status.is_terminal or not last:
            raise AionError(
                f"run {key.run_id} of workflow {key.workflow_id!r} is {run.status.value} in the "
                "store but not open in this engine; reopen the engine to recover it"
            )
        return last[-1]

    def closed_now(
        self, key: RunKey, *, raise_on_park: bool
    ) -> tuple[RunKey, ev.Event | None, bool]:
        """Where the chain of runs from `key` has got to, without waiting (for a caller that
        is told when to look again: `AsyncEngine.result`): its last run and that run's
        closing event once it has ended; else the run of it still open, None, and whether
        another node holds it (or none yet: `watch` tells when it closes) rather than this
        engine (its run table wakes its waiters). `WorkflowParked` while it is parked if
        `raise_on_park`; reads the store for a run not open here."""
        while True:
            if self._table.shut_down:
                raise EngineClosed()
            entry = self._table.get(key)
            if entry is not None:
                if raise_on_park and entry.presence is Presence.PARKED:
                    raise WorkflowParked(key.workflow_id, key.run_id, entry.reason or "")
                return key, None, False
            run = self._store.get_run(*key)
            if run is None:
                raise WorkflowNotFound(key.workflow_id, key.run_id)
            if not run.status.is_terminal and self.watch is not None:
                self._refuse_parked(key, run, raise_on_park)
                return key, None, True
            # ended (its last event), or open in the store but in no engine (it raises)
            closing = self._closing_in_store(key, run=run)
            if not isinstance(closing, ev.WorkflowContinuedAsNew | ev.WorkflowReset):
                return key, closing, False
            key = RunKey(key.workflow_id, closing.next_run_id)

    def _refuse_parked(self, key: RunKey, run: RunSummary, raise_on_park: bool) -> None:
        """`WorkflowParked` for run `key`, held by another node, if the store says it is
        parked there and the caller asked to hear so — why, as its `RunParked` recorded
        (the words its owner's `result()` says)."""
        if raise_on_park and run.status is WorkflowStatus.PARKED:
            raise WorkflowParked(key.workflow_id, key.run_id, self._parked_for(key, run.head))

    def _parked_for(self, key: RunKey, head: int) -> str:
        """The reason of the last `RunParked` of run `key` (its last event, unless events
        were recorded for it while it stayed parked)."""
        events = self._store.read(*key, head)
        if not (events and isinstance(events[-1], ev.RunParked)):
            events = self._store.read(*key)
        parked = next((e for e in reversed(events) if isinstance(e, ev.RunParked)), None)
        return "parked on another node" if parked is None else parked.reason

    def overdue_elsewhere(
        self, key: RunKey, timeout: float | None, status: WorkflowStatus | None = None
    ) -> TimeoutError:
        """The `TimeoutError` of a wait for run `key`, which this engine does not hold, to
        end: its `status` (read if not given) and which node holds it."""
        if status is None:
            try:
                run = self._store.get_run(*key)
            except AionError:  # (the store cannot say: the wait timed out all the same)
                run = None
            status = None if run is None else run.status
        state = "open" if status is None else status.value
        return TimeoutError(
            f"workflow {key.workflow_id!r} (run {key.run_id}) did not finish within "
            f"{timeout} s (it is {state}, {self._whereabouts(key)})"
        )

    def _whereabouts(self, key: RunKey) -> str:
        """Where the open run `key`, not in this engine's table, is held now, in words."""
        if self._table.get(key) is not None:
            return "on this node"
        if self.moved is None:
            return "on another engine"
        try:
            lost = self.moved(key)
        except AionError as exc:
            return f"and the store cannot say which node holds it now: {exc}"
        if lost is None:
            return "and this node holds its partition, but has not loaded the run again yet"
        if not isinstance(lost, OwnershipLost) or lost.owner is None:
            return "and no node holds its partition right now"
        if lost.owner == lost.node_id:
            return (
                f"and this node ({lost.node_id!r}) does not hold its partition now: its lease "
                "lapsed unrenewed; it takes it back at its next lease round"
            )
        return f"on node {lost.owner!r}"

    def when_closed(self, key: RunKey, callback: Callable[[], None]) -> None:
        """`callback()` once the run and its continue-as-new successors have closed;
        at once (in this thread) if they have. What it raises is logged and ignored,
        wherever it runs (as `concurrent.futures.Future.add_done_callback` has it)."""
        if not callable(callback):
            raise TypeError(f"a done-callback must be callable, got {callback!r}")

        def closed(closing: ev.Event) -> None:
            if isinstance(closing, ev.WorkflowContinuedAsNew | ev.WorkflowReset):
                self.when_closed(RunKey(key.workflow_id, closing.next_run_id), callback)
            else:
                _call(key, callback)

        if self._table.when_closed(key, closed):
            return
        run = self._store.get_run(*key)
        if self.watch is not None and run is not None and not run.status.is_terminal:
            self.watch(key, lambda: self.when_closed(key, callback), False)  # another node's
            return
        if run is not None and run.status.is_terminal and not run.status.names_next_run:
            _call(key, callback)  # closed for good: its summary says so, no event to read
            return
        closed(self._closing_in_store(key, run=run))


def _call(key: RunKey, callback: Callable[[], None]) -> None:
    try:
        client_calls.calling_back(callback)  # (it may call the engine, even in a turn)
    except Exception:
        log.exception("a done-callback of run %s raised; ignored", key.run_id)
