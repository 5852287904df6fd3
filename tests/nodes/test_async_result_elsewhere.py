"""`AsyncEngine.result` on a node that does not hold the run waits as `Engine.result` does:
through the node's watch of the run, answered by the append that closes it on its owner
and heard through this node's listener — a few store calls, whatever the wait. (Before,
it read the store in a loop: ~190 `get_run` calls a second, until its timeout.)"""

from __future__ import annotations

import asyncio
import collections
import functools
from typing import Any

import pytest

from aion_actors import Engine
from aion_actors.aio import AsyncEngine
from tests.aio.watchdog import assert_never_blocked, run_watched
from tests.nodes import flows
from tests.nodes.conftest import until
from tests.nodes.test_calls_between_nodes import _of, _requests_left

#: the store calls a wait for a run elsewhere makes (reads, and its watch's request)
_COUNTED = ("get_run", "read", "put_requests", "take_answer", "withdraw_request")


def _counting(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> collections.Counter[str]:
    """Count the calls of `_COUNTED` on `engine`'s store (the real one, wrapped)."""
    calls: collections.Counter[str] = collections.Counter()
    store = engine.store

    def counted(name: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return method(*args, **kwargs)

    for name in _COUNTED:
        monkeypatch.setattr(store, name, functools.partial(counted, name, getattr(store, name)))
    return calls


@pytest.mark.timeout(60)
def test_async_result_of_a_run_another_node_holds_is_woken_by_its_close_not_by_polling(
    pair: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = pair
    [wid] = _of(b, 1, "ar")
    b.start(flows.waiter, 1, workflow_id=wid)
    calls = _counting(a, monkeypatch)

    async def main() -> tuple[Any, collections.Counter[str], collections.Counter[str]]:
        engine = AsyncEngine(a)  # (not closed here: the fixture closes `a`)
        with pytest.raises(TimeoutError, match="on node 'b'"):
            await engine.result(wid, timeout=0.5)
        timed_out = calls.copy()
        waiting = asyncio.create_task(engine.result(wid, timeout=20))
        await asyncio.sleep(0.5)  # it waits: for its run's close on `b`
        while_waiting = calls - timed_out
        await asyncio.to_thread(b.signal, wid, "item", "late")
        return await waiting, timed_out, while_waiting

    (result, timed_out, while_waiting), watch = run_watched(main)
    assert result == ["late"]  # woken by the close, on `a`
    assert_never_blocked(watch)  # the watch's request was written on a reader thread
    assert timed_out["get_run"] <= 3 and timed_out["put_requests"] <= 1, timed_out
    assert while_waiting["get_run"] <= 3 and while_waiting["put_requests"] <= 1, while_waiting
    until(lambda: _requests_left(a) == 0, 10)  # the watch that timed out was withdrawn


@pytest.mark.timeout(60)
def test_async_result_waits_through_the_runs_partition_moving_to_its_own_node(
    pair: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's node closes while `a` waits: its partition has no owner until `a` takes
    it, then `a` holds the run (its watch waited in the partition, applied by `a`)."""
    a, b = pair
    [wid] = _of(b, 1, "mv")
    b.start(flows.waiter, 1, workflow_id=wid)
    calls = _counting(a, monkeypatch)

    async def main() -> Any:
        engine = AsyncEngine(a)
        waiting = asyncio.create_task(engine.result(wid, timeout=30))
        await asyncio.sleep(0.2)
        await asyncio.to_thread(b.close)  # its partitions go to `a`, the run with them
        held = functools.partial(a._parts.runs.open_run, wid)  # noqa: SLF001 - held by `a`
        await asyncio.to_thread(until, held, 20)
        assert not waiting.done()
        await engine.signal(wid, "item", "moved")  # (now held here: to the run itself)
        return await waiting

    assert asyncio.run(main()) == ["moved"]
    assert calls["get_run"] <= 10 and calls["put_requests"] <= 3, calls
