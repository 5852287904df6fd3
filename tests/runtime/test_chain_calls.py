"""Queries and updates by workflow_id follow a continue-as-new chain, as signals do
(see test_primitives): an update meeting a run that closes into its successor is
recorded once, by the successor; a query answers from the chain's open run."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, TypeVar

import pytest

from aion_actors import Engine, UpdateFailed, WorkflowNotFound
from aion_actors.aio import AsyncEngine
from aion_actors.core import events as ev
from tests.runtime import prims
from tests.workers.helpers import wait_until

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


def _moved_on(engine: Engine, workflow_id: str, runs: int) -> list[str]:
    """The chain once `runs` runs of it are closed, its next run open: its run ids."""

    def started() -> int:  # (the next run's start may not be recorded yet)
        try:
            return len(_chain(engine, workflow_id))
        except WorkflowNotFound:
            return 0

    wait_until(lambda: started() > runs, 30, "the chain to move on")
    wait_until(lambda: engine.describe(workflow_id).run_id == _chain(engine, workflow_id)[-1])
    return _chain(engine, workflow_id)


def _answers(engine: Engine, workflow_id: str, update_id: str) -> list[tuple[str, str]]:
    """Every (run_id, event kind) of the chain that accepted or answered `update_id`."""
    return [
        (run_id, type(e).__name__)
        for run_id in _chain(engine, workflow_id)
        for e in engine.history(workflow_id, run_id)
        if isinstance(e, ev.UpdateAccepted | ev.UpdateCompleted) and e.update_id == update_id
    ]


def test_an_update_retried_after_its_run_continued_as_new_returns_the_first_answer_and_runs_once(
    engine: Engine,
) -> None:
    """The run that answered "u1" continued as new (because of it); the retry reaches its
    successor, which finds the answer in its predecessor's history: nothing runs again,
    nothing is recorded in the successor."""
    first = engine.start(prims.takes_by_update, [], workflow_id="again").run_id
    assert engine.update("again", "take", "apple", update_id="u1") == "took apple"
    chain = _moved_on(engine, "again", 1)
    assert chain[0] == first
    assert engine.update("again", "take", "apple", update_id="u1") == "took apple"
    assert engine.query("again", "taken") == ["apple"]
    assert _answers(engine, "again", "u1") == [
        (first, "UpdateAccepted"),
        (first, "UpdateCompleted"),
    ]
    assert engine.update("again", "take", "stop") == "took stop"  # the successor takes others
    assert engine.result("again", timeout=30) == ["apple", "stop"]


def test_an_update_whose_handler_raised_retried_after_its_run_continued_as_new_fails_again_unrun(
    engine: Engine,
) -> None:
    """A retry of an update whose handler raised, after its run continued as new, raises
    the recorded `UpdateFailed` again; the handler does not run in the successor."""
    first = engine.start(prims.takes_by_update, [], workflow_id="boom").run_id
    with pytest.raises(UpdateFailed, match="boom refused"):
        engine.update("boom", "take", "boom", update_id="b1")
    _moved_on(engine, "boom", 1)
    with pytest.raises(UpdateFailed, match="boom refused"):
        engine.update("boom", "take", "boom", update_id="b1")
    assert engine.query("boom", "taken") == ["boom"]
    assert _answers(engine, "boom", "b1") == [(first, "UpdateAccepted"), (first, "UpdateCompleted")]


def test_an_update_retried_after_its_chain_moved_on_twice_returns_the_first_answer_and_runs_once(
    engine: Engine,
) -> None:
    """The answer is found however far back the chain answered it: two runs back here,
    by the sync and the async facade alike."""
    first = engine.start(prims.takes_by_update, [], workflow_id="far").run_id
    assert engine.update("far", "take", "apple", update_id="u1") == "took apple"
    _moved_on(engine, "far", 1)
    assert engine.update("far", "take", "pear") == "took pear"
    _moved_on(engine, "far", 2)
    assert engine.update("far", "take", "apple", update_id="u1") == "took apple"

    async def retried() -> Any:
        facade = AsyncEngine(engine)
        try:
            return await facade.update("far", "take", "apple", update_id="u1")
        finally:
            facade._reads.shutdown(wait=True)  # noqa: SLF001 - the engine is the fixture's

    assert asyncio.run(retried()) == "took apple"
    assert engine.query("far", "taken") == ["apple", "pear"]
    assert _answers(engine, "far", "u1") == [(first, "UpdateAccepted"), (first, "UpdateCompleted")]


def test_an_update_retried_after_its_whole_chain_closed_returns_the_answer_an_earlier_run_gave(
    engine: Engine,
) -> None:
    """A retry after the chain's last run closed finds the answer its run before gave."""
    first = engine.start(prims.takes_by_update, [], workflow_id="done").run_id
    assert engine.update("done", "take", "apple", update_id="u1") == "took apple"
    _moved_on(engine, "done", 1)
    assert engine.update("done", "take", "stop") == "took stop"  # the chain closes
    assert engine.result("done", timeout=30) == ["apple", "stop"]
    assert engine.update("done", "take", "apple", update_id="u1") == "took apple"
    assert _answers(engine, "done", "u1") == [(first, "UpdateAccepted"), (first, "UpdateCompleted")]
