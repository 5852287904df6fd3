"""Startup recovery: which open runs to replay now, what to restart straight from history.

Functions of a `RunManager`, kept apart from it because they run once per
engine start and read the whole run index.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from aion_actors.core import AionError, WorkflowStatus
from aion_actors.core import events as ev
from aion_actors.runtime.definitions import DEFAULT_RUN_RESTART, WorkflowDefinition
from aion_actors.runtime.ledger import Ledger

if TYPE_CHECKING:
    from aion_actors.runtime.runs import RunManager


class Waiter(NamedTuple):
    """Something held up until a workflow type is registered."""

    run: tuple[str, str]  # the run it concerns, for `describe().waiting_for`
    reason: str
    wake: Callable[[], object]


def recover(runs: RunManager) -> int:
    """List every open run as evicted, then restart what was in flight; returns wakes.

    Nothing is replayed that does not need to be: attempts that were
    running are dispatched again straight from history (their results
    will rehydrate the run), children are started or reported
    idempotently, and only runs with an outcome they may not have seen
    (or a restart pending) are rehydrated now. Due timers fire through
    the timer service.
    """
    summaries = runs._store.open_runs()
    for run in summaries:
        runs.register_existing(
            run.workflow_id, run.run_id, run.workflow_type, run.version, run.status
        )
    find_lost_successors(runs)
    woken = 0
    running: list[tuple[str, str, ev.ActivityScheduled]] = []
    for run in summaries:
        if run.status == WorkflowStatus.PARKED:
            continue
        try:
            history = runs._store.read(run.workflow_id, run.run_id)
        except AionError:
            history = []
        if not history or needs_replay(history):
            woken += 1
            runs.actor(run.workflow_id, run.run_id)
            continue
        ledger = Ledger(history)
        running += [
            (run.workflow_id, run.run_id, state.scheduled)
            for _aid, state in ledger.running_attempts()
        ]
        for child in ledger.children.values():
            runs.start_child(run.workflow_id, run.run_id, child)
    runs.attempts.recovered(running)
    return woken


def wait_for_type(runs: RunManager, name: str, ident: Hashable, waiter: Waiter) -> None:
    """Hold `waiter` until workflow type `name` is registered (once per `ident`).

    A run to rehydrate, a child to start and a lost successor all wait here,
    as an activity's attempt waits in `Attempts`: a service registers its
    definitions after `Engine.open`, and none of them may fail meanwhile.
    """
    runs._awaiting.setdefault(name, {}).setdefault(ident, waiter)
    if runs._catalog.workflow(name) is not None:  # registered meanwhile
        registered(runs, [name])


def registered(runs: RunManager, names: Sequence[str]) -> None:
    """New definitions: wake what was waiting for them.

    In the background, so that a service registering its workflows after
    `Engine.open` is not held up by the recovery of thousands of runs.
    """
    waiters = [w for name in names for w in runs._awaiting.pop(name, {}).values()]

    def wake() -> None:
        runs.attempts.registered(list(names))
        for waiter in waiters:
            if not runs._closed:
                waiter.wake()

    runs._recovery.submit(wake)


def waiting_for(runs: RunManager, workflow_id: str, run_id: str) -> str | None:
    """Why a run cannot go on yet, if it waits for a registration."""
    key = (workflow_id, run_id)
    for waiters in list(runs._awaiting.values()):
        for waiter in list(waiters.values()):
            if waiter.run == key:
                return waiter.reason
    activity = runs.attempts.waiting_for(workflow_id, run_id)
    return None if activity is None else f"activity {activity!r} is not registered"


def find_lost_successors(runs: RunManager) -> None:
    """Runs that continued-as-new just before a crash, whose next run never started."""
    for run in runs._store.runs(status=WorkflowStatus.CONTINUED_AS_NEW):
        if run.workflow_id in runs._open:
            continue
        history = runs._store.read(run.workflow_id, run.run_id)
        closing = history[-1] if history else None
        started = history[0] if history else None
        if not isinstance(closing, ev.WorkflowContinuedAsNew):
            continue
        if runs._store.get_run(run.workflow_id, closing.next_run_id) is not None:
            continue
        parent = started.parent if isinstance(started, ev.WorkflowStarted) else None
        name = run.workflow_type
        wake = functools.partial(_start_successor, runs, name, run.workflow_id, closing, parent)
        reason = f"workflow type {name!r} of its successor is not registered"
        waiter = Waiter((run.workflow_id, run.run_id), reason, wake)
        wait_for_type(runs, name, ("successor", run.workflow_id), waiter)


def _start_successor(
    runs: RunManager,
    name: str,
    workflow_id: str,
    closing: ev.WorkflowContinuedAsNew,
    parent: dict[str, Any] | None,
) -> None:
    definition = runs._catalog.workflow(name)
    if definition is not None and workflow_id not in runs._open:
        runs.create(definition, workflow_id, closing.next_run_id, closing.input, parent)


WORKFLOW_MOVES = (ev.ActivityScheduled, ev.TimerStarted, ev.TimerCancelled, ev.ChildStarted)


def needs_replay(history: Sequence[ev.Event]) -> bool:
    """Whether a recovered run must be replayed now rather than when next addressed.

    A run whose last event is one its workflow issued had seen everything
    before it and is blocked on what it awaits; anything else (an outcome
    it may not have seen, a crash awaiting its restart) needs the actor.
    """
    last = history[-1]
    if isinstance(last, ev.ActivityAttemptFailed) and last.retry_at is not None:
        return False
    return not isinstance(last, WORKFLOW_MOVES)


def restart_ages(
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
