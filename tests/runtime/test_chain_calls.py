"""Queries and updates by workflow_id follow a continue-as-new chain, as signals do
(see test_primitives): an update meeting a run that closes into its successor is
recorded once, by the successor; a query answers from the chain's open run."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, TypeVar

import pytest

from aion_actors import Engine
from aion_actors.aio import AsyncEngine
from aion_actors.core import events as ev
from tests.runtime import prims

E = TypeVar("E", bound=ev.Event)

ON_POSTGRES = True  # every test that takes `engine` runs on Postgres too

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def engine(engine: Engine) -> Engine:
    engine.register(*prims.ALL)
    return engine


def _chain(engine: Engine, workflow_id: str) -> list[str]:
    """The chain's run ids, first to last (each run's closing names the next)."""
    runs = [r.run_id for r in engine.list_runs() if r.workflow_id == workflow_id]
    following = set()
    for run_id in runs:
        closing = engine.history(workflow_id, run_id)[-1]
        if isinstance(closing, ev.WorkflowContinuedAsNew):
            following.add(closing.next_run_id)
    [run_id] = [r for r in runs if r not in following]
    chain = [run_id]
    while isinstance(closing := engine.history(workflow_id, run_id)[-1], ev.WorkflowContinuedAsNew):
        run_id = closing.next_run_id
        chain.append(run_id)
    return chain


def _recorded(engine: Engine, workflow_id: str, kind: type[E]) -> list[E]:
    return [
        e
        for run_id in _chain(engine, workflow_id)
        for e in engine.history(workflow_id, run_id)
        if isinstance(e, kind)
    ]


def test_updates_by_workflow_id_reach_a_continue_as_new_chain_each_run_once(
    engine: Engine,
) -> None:
    """Each update is answered once, by the run whose handler ran it: never refused as
    closed. (One a run accepted but closed before running - its code continued as new
    on an earlier update - runs in the next run; the closed run keeps its acceptance.)"""
    threads, each = 3, 30
    total = threads * each
    run = engine.start(prims.adds_up_by_update, 0, total, workflow_id="chain")
    answers: list[int] = []
    refused: list[BaseException] = []

    def client() -> None:
        for _ in range(each):
            try:
                answers.append(engine.update("chain", "add", 1))
            except Exception as exc:  # every refusal is the failure
                refused.append(exc)

    clients = [threading.Thread(target=client) for _ in range(threads)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join(timeout=60)
    assert refused == []
    assert sorted(answers) == list(range(1, total + 1))
    assert run.result(timeout=30) == total
    completed = [e.update_id for e in _recorded(engine, "chain", ev.UpdateCompleted)]
    assert len(completed) == len(set(completed)) == total
    assert {e.update_id for e in _recorded(engine, "chain", ev.UpdateAccepted)} == set(completed)


def test_a_query_by_workflow_id_answers_from_the_chains_open_run(engine: Engine) -> None:
    """Once a signal closed a run into its successor, queries answer from the successor —
    the run describe shows — never from the closed run."""
    until = 30
    engine.start(prims.adds_up, 0, until, workflow_id="chain")
    answered_by: list[tuple[str, str]] = []
    for _ in range(until - 1):
        engine.signal("chain", "add", 1)
        answered_by.append((engine.query("chain", "run"), engine.describe("chain").run_id))
    engine.signal("chain", "add", 1)
    assert engine.result("chain", timeout=30) == until
    assert [q for q, d in answered_by if q != d] == []


def test_queries_by_workflow_id_never_go_back_along_a_moving_chain(engine: Engine) -> None:
    """A query made while the chain moves on answers from a run no older than the one
    describe showed before it was made."""
    until = 60
    engine.start(prims.adds_up_by_update, 0, until, workflow_id="chain")
    seen: list[tuple[str, str]] = []
    done = threading.Event()

    def asker() -> None:
        while not done.is_set():
            before = engine.describe("chain")
            if before.status.is_terminal:
                return
            seen.append((before.run_id, engine.query("chain", "run")))

    thread = threading.Thread(target=asker)
    thread.start()
    try:
        for _ in range(until):
            engine.update("chain", "add", 1)
    finally:
        done.set()
        thread.join(timeout=60)
    order = {run_id: i for i, run_id in enumerate(_chain(engine, "chain"))}
    assert seen
    assert [(d, q) for d, q in seen if order[q] < order[d]] == []


def test_async_updates_queries_and_signals_by_workflow_id_follow_the_chain(
    engine: Engine,
) -> None:
    """`AsyncEngine.update`, `query` and `signal` follow the chain as `Engine`'s do."""
    total = 60
    engine.start(prims.adds_up_by_update, 0, total, workflow_id="chain")
    engine.start(prims.adds_up, 0, total, workflow_id="signalled")

    async def main() -> list[Any]:
        facade = AsyncEngine(engine)
        try:
            updates = [facade.update("chain", "add", 1) for _ in range(total)]
            queries = [facade.query("chain", "total") for _ in range(total)]
            signals = [facade.signal("signalled", "add", 1) for _ in range(total)]
            return await asyncio.gather(*updates, *queries, *signals, return_exceptions=True)
        finally:
            facade._reads.shutdown(wait=True)  # noqa: SLF001 - the engine is the fixture's

    got = asyncio.run(main())
    assert [a for a in got if isinstance(a, BaseException)] == []
    assert sorted(got[:total]) == list(range(1, total + 1))
    assert engine.result("chain", timeout=30) == total
    assert engine.result("signalled", timeout=30) == total
    completed = [e.update_id for e in _recorded(engine, "chain", ev.UpdateCompleted)]
    assert len(completed) == len(set(completed)) == total
