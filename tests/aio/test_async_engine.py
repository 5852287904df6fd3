"""`AsyncEngine`: the engine's verbs as coroutines, none of which blocks the event loop
(a watchdog fails a test when any step holds the loop > 20 ms), and waiting callers
that hold no thread each. Real engine, LMDB."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from aion_actors import (
    WorkflowCancelled,
    WorkflowClosed,
    WorkflowFailed,
    WorkflowNotFound,
    WorkflowParked,
)
from aion_actors.aio import AsyncEngine
from tests.aio import flows
from tests.aio.watchdog import assert_never_blocked, run_watched

pytestmark = pytest.mark.timeout(120)

RUNS = 40


def test_every_async_verb_answers_without_blocking_the_loop(tmp_path: Path) -> None:
    async def main() -> None:
        async with AsyncEngine.open(tmp_path / "data", workers=1, threads=2) as engine:
            await engine.register(flows.waiter, flows.greet)
            handles = await asyncio.gather(
                *(engine.start(flows.waiter, f"n{i}", workflow_id=f"w{i}") for i in range(RUNS))
            )
            many = await engine.start_many(flows.waiter, [("m0",), ("m1",)])
            first = handles[0]
            assert await engine.query("w0", "stage") in ("greeting", "waiting")
            assert await engine.update("w0", "rename", "zed") == "renamed to zed"
            await asyncio.gather(*(engine.signal(h.workflow_id, "go", 7) for h in handles))
            results = await asyncio.gather(*(h.result(timeout=60) for h in handles))
            assert results[1] == {"greeting": "hello n1", "go": 7, "name": "n1"}
            assert results[0]["name"] == "zed"
            assert (await first.describe()).status.value == "completed"
            assert (await engine.history("w0"))[0].kind == "WorkflowStarted"
            assert await engine.query("w0", "stage") == "waiting"  # from its history
            page = await engine.list_runs(status="completed")
            assert len(page) >= RUNS
            await engine.cancel(many[0].workflow_id, "not needed")
            with pytest.raises(WorkflowCancelled):
                await many[0].result(timeout=60)
            await engine.terminate(many[1].workflow_id, "stop")
            with pytest.raises(WorkflowFailed):
                await many[1].result(timeout=60)

    _, watch = run_watched(main)
    assert_never_blocked(watch)


def test_the_watchdog_fails_a_blocking_engine_call_on_the_loop(tmp_path: Path) -> None:
    async def main() -> None:
        async with AsyncEngine.open(tmp_path / "data", workers=1, threads=2) as engine:
            await engine.register(flows.napper, flows.nap)
            blocking = engine.engine  # what a handler calling the sync `Engine` would do
            assert blocking.start(flows.napper, 0.1).result(timeout=60) == 0.1

    _, watch = run_watched(main)
    with pytest.raises(AssertionError, match="blocked"):
        assert_never_blocked(watch)


def test_callers_awaiting_results_hold_no_thread_each(tmp_path: Path) -> None:
    waiting = 200

    async def main() -> None:
        async with AsyncEngine.open(tmp_path / "data", workers=1, threads=2) as engine:
            await engine.register(flows.waiter, flows.greet)
            handles = await engine.start_many(flows.waiter, [(f"n{i}",) for i in range(waiting)])
            await engine.list_runs()  # the reader threads exist from here on
            before = threading.active_count()
            results = [asyncio.create_task(h.result(timeout=60)) for h in handles]
            await asyncio.sleep(0.3)
            assert not any(task.done() for task in results)
            assert threading.active_count() - before < 5  # not one per waiting call
            await asyncio.gather(*(engine.signal(h.workflow_id, "go") for h in handles))
            assert len(await asyncio.gather(*results)) == waiting

    _, watch = run_watched(main)
    assert_never_blocked(watch)


def test_result_follows_continue_as_new_and_raises_for_parked_and_unknown_runs(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        async with AsyncEngine.open(tmp_path / "data", workers=1, threads=2) as engine:
            await engine.register(flows.chain, flows.broken, flows.waiter, flows.greet)
            chained = await engine.start(flows.chain, 3, workflow_id="chain")
            assert await chained.result(timeout=60) == 0
            assert (await engine.describe("chain")).run_id != chained.run_id
            parked = await engine.start(flows.broken, workflow_id="broken")
            with pytest.raises(WorkflowParked):
                await parked.result(timeout=60)
            with pytest.raises(TimeoutError, match="'broken'"):
                await parked.result(timeout=0.2, raise_on_park=False)
            with pytest.raises(WorkflowNotFound):
                await engine.result("nobody")
            open_run = await engine.start(flows.waiter, "x", workflow_id="open")
            with pytest.raises(TimeoutError, match=r"did not finish within 0\.2 s"):
                await open_run.result(timeout=0.2)
            await engine.terminate("open")
            with pytest.raises(WorkflowClosed):
                await engine.signal("open", "go")
            with pytest.raises(WorkflowNotFound):
                await engine.signal("nobody", "go")

    _, watch = run_watched(main)
    assert_never_blocked(watch)
