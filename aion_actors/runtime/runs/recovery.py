"""Startup recovery: list every open run, restart what was in flight, replay only what must be.

Runs once per engine start and reads the whole run index. Nothing is
replayed that does not need to be: attempts that were running are
dispatched again straight from history (their results will bring their
runs back), children are started or reported idempotently, due timers fire
through the timer service, and only runs with an outcome they may not have
seen (or a restart pending) are brought back now.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from aion_actors.core import AionError, RunKey, WorkflowStatus
from aion_actors.core import events as ev
from aion_actors.runtime.attempts import Attempts
from aion_actors.runtime.catalog import Catalog
from aion_actors.runtime.ledger import Ledger
from aion_actors.runtime.runs.endings import Endings
from aion_actors.runtime.runs.entry import Presence
from aion_actors.runtime.runs.residency import Residency
from aion_actors.runtime.runs.starts import NewRun, Starts
from aion_actors.runtime.runs.table import RunTable
from aion_actors.runtime.runs.waiters import TypeWaiters, Waiter
from aion_actors.runtime.timeouts import past_deadline
from aion_actors.store import EventStore, RunSummary
from aion_actors.store.bulk import read_histories

log = logging.getLogger("aion_actors.runtime")

#: open runs whose histories are read in one read transaction (on a store that can)
READ_BATCH = 256
#: the status of a run recovery lists but does not bring back
PARKED = WorkflowStatus.PARKED

#: events a workflow issues: a run whose history ends with one had seen everything before it
WORKFLOW_MOVES = (ev.ActivityScheduled, ev.TimerStarted, ev.TimerCancelled, ev.ChildStarted)


class Recovery:
    def __init__(
        self,
        table: RunTable,
        residency: Residency,
        starts: Starts,
        endings: Endings,
        waiters: TypeWaiters,
        attempts: Attempts,
        store: EventStore,
        catalog: Catalog,
    ) -> None:
        self._table = table
        self._residency = residency
        self._starts = starts
        self._endings = endings
        self._waiters = waiters
        self._attempts = attempts
        self._store = store
        self._catalog = catalog

    def recover(self, within: Callable[[str], bool] | None = None) -> int:
        """List every open run (of the workflow_ids `within` accepts: the partitions a node
        just took), then restart what was in flight; returns how many were woken."""
        summaries = [r for r in self._store.open_runs() if within is None or within(r.workflow_id)]
        for run in summaries:
            parked = run.status == WorkflowStatus.PARKED
            key = RunKey(run.workflow_id, run.run_id)
            self._table.recovered(key, run.workflow_type, run.version, run.parent, parked=parked)
            self._residency.keep_history(key, None)  # (kept again below if it is to be used)
        self._find_lost_successors(within)
        woken, now = 0, self._residency.clock.now_ns()
        running: list[tuple[str, str, ev.ActivityScheduled, Any]] = []
        unregistered: Counter[str] = Counter()
        for run, history in self._histories([r for r in summaries if r.status != PARKED]):
            key = RunKey(run.workflow_id, run.run_id)
            if self._catalog.workflow(run.workflow_type) is None:
                unregistered[run.workflow_type] += 1
            if history and past_deadline(history[0], now):
                continue  # the timer service times it out first thing: nothing to redo
            ledger = Ledger(history)
            attempts = ledger.running_attempts()
            # an attempt whose cancellation was requested is not run again: its run records why
            if not history or needs_replay(history) or any(s.cancel_requested for _, s in attempts):
                woken += 1
                self._residency.bring_back(key)
                continue
            if attempts:  # each outcome brings its run back: replayed from what was just read
                self._residency.keep_history(key, history)
            running += [(*key, state.scheduled, state.heartbeat) for _aid, state in attempts]
            for child in ledger.children.values():
                self._endings.start_child(key, child)
        self._attempts.recovered(running)
        if unregistered:
            types = ", ".join(f"{name} ({n})" for name, n in sorted(unregistered.items()))
            log.info(
                "%d open run(s) wait for their workflow types to be registered: %s",
                sum(unregistered.values()),
                types,
            )
        return woken

    def _histories(self, runs: list[RunSummary]) -> Iterator[tuple[RunSummary, list[ev.Event]]]:
        """Each run with its history ([] if it cannot be read), read `READ_BATCH` runs per
        read transaction. A run touched since its batch was read (woken by a message a
        run recovered before it sent, which may have appended) is read again on its own."""
        for start in range(0, len(runs), READ_BATCH):
            batch = runs[start : start + READ_BATCH]
            keys = [(run.workflow_id, run.run_id) for run in batch]
            for run, read in zip(batch, read_histories(self._store, keys), strict=True):
                key = RunKey(run.workflow_id, run.run_id)
                if not self._untouched(key):
                    read = read_histories(self._store, [key])[0]
                yield run, [] if isinstance(read, AionError) else read

    def _untouched(self, key: RunKey) -> bool:
        """Nothing can have been appended for the run since recovery listed it: no
        incarnation, no message, no request recorded for it, no commit through the recorder."""
        entry = self._table.get(key)
        return (
            entry is not None
            and entry.presence is Presence.ABSENT
            and entry.generation == 0
            and not entry.mailbox
            and self._residency.committed_head(key) is None
        )

    def _find_lost_successors(self, within: Callable[[str], bool] | None) -> None:
        """Runs that continued-as-new just before a crash, whose next run never started."""
        for run in self._store.runs(status=WorkflowStatus.CONTINUED_AS_NEW):
            if within is not None and not within(run.workflow_id):
                continue
            if self._table.open_run(run.workflow_id) is not None:
                continue
            try:
                history = self._store.read(run.workflow_id, run.run_id)
            except AionError as exc:  # a damaged history costs only its run
                log.error("run %s: its history cannot be read (%s); skipped", run.run_id, exc)
                continue
            closing = history[-1] if history else None
            if not isinstance(closing, ev.WorkflowContinuedAsNew):
                continue
            if self._store.get_run(run.workflow_id, closing.next_run_id) is not None:
                continue
            started = history[0]
            parent = started.parent if isinstance(started, ev.WorkflowStarted) else None
            name = run.workflow_type
            reason = f"waiting for workflow type {name!r} of its successor to be registered"
            successor = NewRun.successor(run.workflow_id, closing, parent, started)

            def wake(name: str = name, successor: NewRun = successor) -> None:
                self._start_successor(name, successor)

            waiter = Waiter(RunKey(run.workflow_id, run.run_id), reason, wake)
            self._waiters.add(name, ("successor", run.workflow_id), waiter)

    def _start_successor(self, name: str, run: NewRun) -> None:
        definition = self._catalog.workflow(name)
        if definition is not None and self._table.open_run(run.workflow_id) is None:
            self._starts.create(definition, [run], refuse_open=False, wait=False)


def needs_replay(history: Sequence[ev.Event]) -> bool:
    """Whether a recovered run must be replayed now rather than when next addressed.

    A run whose last event is one its workflow issued had seen everything
    before it and is blocked on what it awaits; anything else (an outcome
    it may not have seen, a crash awaiting its restart) needs the actor.
    """
    last = history[-1]
    if isinstance(last, ev.ActivityAttemptFailed) and last.retry_at is not None:
        return False
    if isinstance(last, ev.ActivityHandedOff):  # it waits for engine.complete_activity
        return False
    return not isinstance(last, WORKFLOW_MOVES)
