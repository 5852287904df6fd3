"""`AsyncEngine`: the engine's verbs as coroutines, none of which blocks the event loop
(a watchdog fails a test when any step holds the loop > 20 ms), and waiting callers
that hold no thread each. Real engine, LMDB."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from aion_actors import (
    Engine,
    WorkflowCancelled,
    WorkflowClosed,
    WorkflowContext,
    WorkflowFailed,
    WorkflowNotFound,
    WorkflowParked,
    activity,
    workflow,
)
from aion_actors.aio import AsyncEngine
from aion_actors.core import AionError, Event, RunKey
from aion_actors.store import AppendRequest, MemoryStore
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


def test_a_result_await_that_times_out_or_is_cancelled_leaves_no_watcher(
    tmp_path: Path,
) -> None:
    """A service polling `result(timeout=...)` on a long run keeps nothing per call."""

    def watchers(engine: AsyncEngine, key: RunKey) -> int:
        entry = engine.engine._parts.runs._table.get(key)  # noqa: SLF001 - what the run holds
        assert entry is not None
        return len(entry.watchers)

    async def main() -> None:
        async with AsyncEngine.open(tmp_path / "data", workers=1, threads=2) as engine:
            await engine.register(flows.waiter, flows.greet)
            handle = await engine.start(flows.waiter, "x", workflow_id="long")
            key = RunKey("long", handle.run_id)
            for _ in range(300):
                with pytest.raises(TimeoutError):
                    await engine.result("long", timeout=0.0001)
            for _ in range(300):
                task = asyncio.ensure_future(handle.result())
                await asyncio.sleep(0)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            assert watchers(engine, key) == 0
            waiting = asyncio.ensure_future(handle.result(timeout=60))
            await asyncio.sleep(0.05)
            assert watchers(engine, key) == 1  # a caller still waiting is still watching
            await engine.signal("long", "go", 1)
            assert (await waiting)["go"] == 1

    _, watch = run_watched(main)
    assert_never_blocked(watch)


class HeldStore(MemoryStore):
    """A store whose writes wait while `free` is clear, as a store that stopped answering."""

    def __init__(self) -> None:
        super().__init__()
        self.free = threading.Event()
        self.free.set()

    def append_batch(self, requests: Sequence[AppendRequest]) -> list[list[Event] | AionError]:
        self.free.wait(30)
        return super().append_batch(requests)


def test_an_async_change_not_recorded_in_time_says_what_the_blocking_one_says() -> None:
    store = HeldStore()

    async def main() -> None:
        engine = AsyncEngine(Engine(store, workers=1, threads=2))
        try:
            await engine.register(flows.waiter, flows.greet)
            await engine.start(flows.waiter, "n", workflow_id="a1")
            store.free.clear()  # from here no write is answered
            with pytest.raises(TimeoutError) as awaited:
                await engine.signal("a1", "go", 1, timeout=0.2)
            with pytest.raises(TimeoutError) as blocked:
                await asyncio.to_thread(engine.engine.signal, "a1", "go", 2, timeout=0.2)
            said = str(awaited.value)
            assert said == str(blocked.value)
            assert "did not record the signal 'go' within 0.2 s" in said
            assert "it is not lost: it is recorded once its run can write" in said
            assert said.endswith("do not send it again")
            store.free.set()
            assert (await engine.result("a1", timeout=60))["go"] == 1  # recorded after all
        finally:
            store.free.set()
            await engine.aclose()

    asyncio.run(main())


#: what no client call takes as its `timeout=`: a number > 0 (finite) or None
BAD_TIMEOUTS: list[Any] = [0, -1, -0.5, math.nan, math.inf, True, "5"]


def test_every_async_verb_refuses_a_timeout_that_is_not_above_0_and_records_nothing(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        async with AsyncEngine.open(tmp_path / "data", workers=1, threads=2) as engine:
            await engine.register(flows.waiter, flows.greet)
            handle = await engine.start(flows.waiter, "n", workflow_id="w")
            while await engine.query("w", "stage") != "waiting":  # its activity is done
                await asyncio.sleep(0.05)
            before = [e.kind for e in await engine.history("w")]
            for bad in BAD_TIMEOUTS:
                for verb, call in _async_verbs(engine, handle.result, bad):
                    with pytest.raises(ValueError, match=f"^{verb}'s timeout must be a number"):
                        await call()
            assert [e.kind for e in await engine.history("w")] == before  # nothing recorded
            await engine.signal("w", "go", 2, timeout=None)  # None: wait as long as it takes
            assert await handle.result(timeout=None) == {
                "greeting": "hello n",
                "go": 2,
                "name": "n",  # the refused update did not run
            }

    _, watch = run_watched(main)
    assert_never_blocked(watch)


def _async_verbs(
    engine: AsyncEngine, result: Callable[..., Awaitable[Any]], t: Any
) -> list[tuple[str, Callable[[], Awaitable[Any]]]]:
    """Each verb of `engine` (and its handle's `result`) on run "w", given timeout `t`."""
    return [
        ("result", lambda: result(timeout=t)),
        ("result", lambda: engine.result("w", timeout=t)),
        ("signal", lambda: engine.signal("w", "go", 1, timeout=t)),
        ("cancel", lambda: engine.cancel("w", "no", timeout=t)),
        ("terminate", lambda: engine.terminate("w", "no", timeout=t)),
        ("update", lambda: engine.update("w", "rename", "zed", timeout=t)),
        ("query", lambda: engine.query("w", "stage", timeout=t)),
    ]


_running = threading.Event()


@activity(executor="thread")
def held_for(seconds: float) -> float:
    _running.set()
    time.sleep(seconds)
    return seconds


@workflow
async def holds(ctx: WorkflowContext, seconds: float) -> float:
    return float(await ctx.activity(held_for, seconds))


def test_a_second_aclose_returns_once_the_first_has_closed_the_engine(tmp_path: Path) -> None:
    async def main() -> None:
        engine = AsyncEngine(Engine.open(tmp_path / "data", workers=1, threads=2))
        await engine.register(holds, held_for)
        await engine.start(holds, 1.0, workflow_id="holding")
        await asyncio.get_running_loop().run_in_executor(None, _running.wait, 30)
        first = asyncio.create_task(engine.aclose(drain=5))  # it waits for that activity
        await asyncio.sleep(0.05)  # the first close is under way, draining
        await engine.aclose()
        with Engine.open(tmp_path / "data", workers=1):  # the store can be reopened at once
            pass
        await first

    asyncio.run(main())
