"""`Engine.close()` in a database outage, while runs wait to be read back (rehydrated): the
history reads give up waiting for the server at once — close does not sit out the store's
retry window (30 s) — no thread stays behind, and the next engine finds every run intact."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

import pytest

from aion_actors import Engine, WorkflowContext, WorkflowStatus, workflow
from aion_actors.core import EngineClosed
from aion_actors.core import events as ev
from tests.nodes.proxy import Proxy
from tests.workers.helpers import wait_until

RUNS = 4


@workflow(name="close_outage.waits")
async def waits_for_go(ctx: WorkflowContext) -> str:
    go = await ctx.wait_signal("go")
    return f"went {go}"


def _signal(engine: Engine, workflow_id: str, heard: dict[str, BaseException | None]) -> None:
    try:
        engine.signal(workflow_id, "go", "early", timeout=90)
        heard[workflow_id] = None
    except Exception as exc:
        heard[workflow_id] = exc


@pytest.mark.timeout(180)
def test_close_in_an_outage_gives_up_waiting_history_reads_at_once_and_loses_no_run(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aion_actors")
    before = set(threading.enumerate())
    ids = [f"waits-{i}" for i in range(RUNS)]
    proxy = Proxy(pg_url)
    try:
        engine = Engine.open(proxy.url, workers=1, idle_evict_after=0.05)  # retry_for: 30 s
        engine.register(waits_for_go)
        for workflow_id in ids:
            engine.start(waits_for_go, workflow_id=workflow_id)
        wait_until(lambda: engine.stats()["resident"] == 0, 30, "every run evicted")
        proxy.cut()
        heard: dict[str, BaseException | None] = {}
        callers = [
            threading.Thread(target=_signal, args=(engine, workflow_id, heard))
            for workflow_id in ids
        ]
        for caller in callers:
            caller.start()
        pool, lane = engine.store._pool, engine._runs._rehydrate_lane  # type: ignore[attr-defined]  # noqa: SLF001
        waiting = lambda: lane.busy and pool.get_stats().get("requests_waiting", 0) > 0  # noqa: E731
        wait_until(waiting, 30, "a history read waiting for a connection")
        began = time.monotonic()
        engine.close()
        took = time.monotonic() - began
        for caller in callers:
            caller.join(30)
        assert took < 10, f"close() took {took:.1f} s: it sat out the retry window"
        assert all(isinstance(heard[i], EngineClosed) for i in ids), heard
        wait_until(lambda: set(threading.enumerate()) <= before, 10, "the engine's threads to end")
        assert any("gave up" in r.getMessage() for r in caplog.records), caplog.text[-3000:]
        proxy.restore()
        with Engine.open(proxy.url, workers=1) as again:
            again.register(waits_for_go)
            assert {again.describe(i).status for i in ids} == {WorkflowStatus.RUNNING}
            for n, workflow_id in enumerate(ids):
                again.signal(workflow_id, "go", n)
            assert [again.result(i, timeout=60) for i in ids] == [f"went {n}" for n in range(RUNS)]
            for workflow_id in ids:
                kinds = Counter(type(e) for e in again.history(workflow_id))
                assert kinds[ev.SignalReceived] == kinds[ev.WorkflowCompleted] == 1, kinds
    finally:
        proxy.close()
