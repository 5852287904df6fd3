"""`result()` of a run this engine holds open names it from memory: no scan of the store's
run index per call (a caller waiting on thousands of runs paid one each)."""

from __future__ import annotations

from typing import Any

import pytest

from aion_actors import Engine, WorkflowContext, workflow
from aion_actors.store import MemoryStore, RunSummary


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.latest_runs = 0

    def latest_run(self, workflow_id: str) -> RunSummary | None:
        self.latest_runs += 1
        return super().latest_run(workflow_id)


@workflow
async def until_told(ctx: WorkflowContext) -> Any:
    return await ctx.wait_signal("go")


@pytest.mark.timeout(30)
def test_result_of_an_open_run_does_not_look_its_run_up_in_the_store() -> None:
    store = CountingStore()
    with Engine(store, workers=1) as engine:
        engine.register(until_told)
        engine.start(until_told, workflow_id="open-one")
        before = store.latest_runs
        for _ in range(3):
            with pytest.raises(TimeoutError):
                engine.result("open-one", timeout=0.01)
        assert store.latest_runs == before, "result() of an open run scanned the run index"
        engine.signal("open-one", "go", 7)
        assert engine.result("open-one", timeout=10) == 7  # closed or not: the same answer
