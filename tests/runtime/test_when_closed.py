"""`when_closed` of a run that has ended answers from the run's summary: a closing
that names no next run needs no event read back (a caller registering thousands of
ended runs paid a history read each); a continued-as-new run is still followed."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from aion_actors import Engine, WorkflowContext, workflow
from aion_actors.core import events as ev
from aion_actors.store import MemoryStore


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def read(self, *args: Any, **kwargs: Any) -> list[ev.Event]:
        self.reads += 1
        return super().read(*args, **kwargs)


@workflow
async def until_told(ctx: WorkflowContext) -> Any:
    return await ctx.wait_signal("go")


@workflow
async def chain(ctx: WorkflowContext, left: int) -> Any:
    if left > 0:
        ctx.continue_as_new(left - 1)
    return await ctx.wait_signal("go")


@pytest.mark.timeout(30)
def test_when_closed_of_an_ended_run_calls_back_at_once_without_reading_its_events() -> None:
    store = CountingStore()
    with Engine(store, workers=1) as engine:
        engine.register(until_told)
        run = engine.start(until_told, workflow_id="ended")
        engine.signal("ended", "go", 1)
        assert run.result(timeout=10) == 1
        called = threading.Event()
        before = store.reads
        engine.when_closed("ended", called.set, run_id=run.run_id)
        assert called.is_set(), "when_closed of an ended run did not call back at once"
        assert store.reads == before, "when_closed read the ended run's events back"


@pytest.mark.timeout(30)
def test_when_closed_of_a_continued_run_waits_for_the_last_run_of_the_chain() -> None:
    with Engine(MemoryStore(), workers=1) as engine:
        engine.register(chain)
        first = engine.start(chain, 2, workflow_id="chain")
        called = threading.Event()
        engine.when_closed("chain", called.set, run_id=first.run_id)
        last = engine.describe("chain")
        assert not called.wait(0.2), f"called back while the chain's last run is {last.status}"
        engine.signal("chain", "go", 3)
        assert engine.result("chain", timeout=10) == 3
        assert called.wait(10), "when_closed did not follow the chain to its last run's end"


@pytest.mark.timeout(30)
def test_a_done_callback_that_raises_is_logged_and_ignored_whether_the_run_had_ended_or_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def raises() -> None:
        raise RuntimeError("a bug in the callback")

    with Engine(MemoryStore(), workers=1) as engine:
        engine.register(until_told)
        run = engine.start(until_told, workflow_id="cb")
        run.add_done_callback(raises)  # the run is open: it runs in an engine thread
        engine.signal("cb", "go", 1)
        assert run.result(timeout=10) == 1
        run.add_done_callback(raises)  # it has ended: at once, here, and not raised here
        with pytest.raises(TypeError, match="a done-callback must be callable, got 5"):
            run.add_done_callback(5)  # type: ignore[arg-type]
    assert caplog.text.count("a done-callback of run") == 2
