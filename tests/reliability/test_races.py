"""Calls racing on one run, or on one workflow_id: one closing event ever, and nobody is
told of a run that never exists (issue 16, items 2 and 7)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aion_actors import (
    Engine,
    WorkflowAlreadyStarted,
    WorkflowClosed,
    WorkflowContext,
    workflow,
)
from aion_actors.core import events as ev
from tests.workers.helpers import wait_until

ROUNDS = 25


@workflow
async def waits(ctx: WorkflowContext) -> Any:
    await ctx.wait_signal("go")  # one signal does not end it: a terminate can race it
    return await ctx.wait_signal("go")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with Engine.open(tmp_path / "data", workers=1, idle_evict_after=0) as engine:
        engine.register(waits)
        yield engine


def _evicted(engine: Engine, workflow_id: str) -> None:
    engine.start(waits, workflow_id=workflow_id)
    wait_until(lambda: engine.describe(workflow_id).residency == "evicted", 10, "eviction")


def _race(*calls: Callable[[], object]) -> list[object]:
    """Run `calls` at once; what each returned or raised."""
    outcomes: list[object] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(index: int) -> None:
        start.wait()
        try:
            outcomes[index] = calls[index]()
        except Exception as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def _after_the_end(history: list[ev.Event]) -> list[str]:
    ends = [
        i for i, e in enumerate(history) if e.lifecycle and not isinstance(e, ev.WorkflowStarted)
    ]
    return [e.kind for e in history[ends[0] + 1 :]] if ends else []


def test_two_terminates_of_an_evicted_run_record_one_ending(engine: Engine) -> None:
    for i in range(ROUNDS):
        workflow_id = f"twice-{i}"
        _evicted(engine, workflow_id)
        outcomes = _race(
            lambda w=workflow_id: engine.terminate(w, "a"),
            lambda w=workflow_id: engine.terminate(w, "b"),
        )
        assert sorted(type(o).__name__ for o in outcomes) == ["NoneType", "WorkflowClosed"]
        history = engine.history(workflow_id)
        assert [e.kind for e in history].count("WorkflowTerminated") == 1
        assert _after_the_end(history) == []


def test_a_terminate_racing_a_signal_on_an_evicted_run_ends_it_once(engine: Engine) -> None:
    for i in range(ROUNDS):
        workflow_id = f"race-{i}"
        _evicted(engine, workflow_id)
        terminated, signalled = _race(
            lambda w=workflow_id: engine.terminate(w),
            lambda w=workflow_id: engine.signal(w, "go", 1),
        )
        assert terminated is None
        assert signalled is None or isinstance(signalled, WorkflowClosed), signalled
        history = engine.history(workflow_id)
        kinds = [e.kind for e in history]
        assert kinds.count("WorkflowTerminated") == 1 and "RunCrashed" not in kinds
        assert kinds.count("SignalReceived") == (1 if signalled is None else 0)
        assert _after_the_end(history) == []
        engine.start(waits, workflow_id=workflow_id)  # reachable again at once


def test_nobody_is_told_of_a_reservation_that_is_withdrawn(engine: Engine) -> None:
    """A `start_many` reserves its ids, meets one that is open and withdraws them all;
    a `start` of one of its ids meanwhile is told only of runs that exist."""
    engine.start(waits, workflow_id="blocker")
    named: list[str] = []
    for i in range(ROUNDS * 4):
        free = f"free-{i}"

        def batch(free: str = free) -> object:
            return engine.start_many(waits, [(), ()], workflow_ids=[free, "blocker"])

        def single(free: str = free) -> object:
            return engine.start(waits, workflow_id=free)

        for outcome in _race(batch, single):
            if isinstance(outcome, WorkflowAlreadyStarted) and outcome.workflow_id == free:
                named.append(outcome.run_id)
        for run_id in named:  # it was (or was about to be) on disk when named
            assert engine.store.get_run(free, run_id) is not None, run_id
        named.clear()
