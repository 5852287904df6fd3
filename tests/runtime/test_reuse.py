"""A workflow_id is free again the moment `result()` returns: the run table frees it in the
critical section that records the closing, whatever closed the run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aion_actors import (
    Cancelled,
    Engine,
    WorkflowCancelled,
    WorkflowContext,
    WorkflowFailed,
    workflow,
)
from aion_actors.runtime import WorkflowDefinition

ROUNDS = 200


@workflow
async def wait_echo(ctx: WorkflowContext, x: int) -> dict[str, Any]:
    return {"x": x, "got": await ctx.wait_signal("go")}


@workflow
async def waits_then_compensates(ctx: WorkflowContext, x: int) -> int:
    try:
        await ctx.wait_signal("never")
    except Cancelled:
        raise
    return x


@workflow
async def relay(ctx: WorkflowContext, left: int) -> str:
    if left:
        ctx.continue_as_new(left - 1)
    return "done"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(wait_echo, waits_then_compensates, relay)
        yield engine


def _reuse(engine: Engine, flow: WorkflowDefinition, close: Callable[[str], Any]) -> None:
    """Start, close and wait, then start the same id again: no start may be refused."""
    for i in range(ROUNDS):
        workflow_id = f"{flow.name}-{i}"
        engine.start(flow, i, workflow_id=workflow_id)
        close(workflow_id)
        engine.start(flow, i, workflow_id=workflow_id)  # must not raise
        engine.terminate(workflow_id)


def test_an_id_is_free_once_result_returns_after_a_signal(engine: Engine) -> None:
    def close(workflow_id: str) -> None:
        engine.signal(workflow_id, "go", 1)
        assert engine.result(workflow_id, timeout=10)["got"] == 1

    _reuse(engine, wait_echo, close)


def test_an_id_is_free_once_result_returns_after_a_cancel(engine: Engine) -> None:
    def close(workflow_id: str) -> None:
        engine.cancel(workflow_id, "stop")
        with pytest.raises(WorkflowCancelled):
            engine.result(workflow_id, timeout=10)

    _reuse(engine, waits_then_compensates, close)


def test_an_id_is_free_once_result_returns_after_a_terminate(engine: Engine) -> None:
    def close(workflow_id: str) -> None:
        engine.terminate(workflow_id, "stop")
        with pytest.raises(WorkflowFailed) as failed:
            engine.result(workflow_id, timeout=10)
        assert failed.value.status == "terminated"

    _reuse(engine, wait_echo, close)


def test_an_id_is_free_once_the_last_run_of_a_continue_as_new_chain_completes(
    engine: Engine,
) -> None:
    for i in range(ROUNDS):
        workflow_id = f"relay-{i}"
        first = engine.start(relay, 2, workflow_id=workflow_id)
        assert first.result(timeout=10) == "done"  # the third run's result
        engine.start(relay, 0, workflow_id=workflow_id)  # must not raise


@workflow
async def child_of_burst(ctx: WorkflowContext, x: int) -> int:
    return x + 1


@workflow
async def parent_of_burst(ctx: WorkflowContext, x: int) -> int:
    return await ctx.child(child_of_burst, x)


def test_many_parents_starting_children_at_once_never_starve_the_run_dispatcher(
    engine: Engine,
) -> None:
    """A parent's actor starts its child without waiting for the child's actor: with
    more parents at once than dispatcher threads, waiting would take them all."""
    engine.register(parent_of_burst, child_of_burst)
    handles = engine.start_many(parent_of_burst, [(i,) for i in range(32)])
    assert [h.result(timeout=30) for h in handles] == [i + 1 for i in range(32)]
