"""A child whose start cannot be recorded — its arguments do not fit its workflow, which
would fail the same way at every start — fails in its parent as a child failure, once,
so the parent's code handles it (it used to wait for ever)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors import (
    ChildWorkflowError,
    Engine,
    WorkflowContext,
    WorkflowFailed,
    WorkflowNotFound,
    workflow,
)

pytestmark = pytest.mark.timeout(60)
WAIT = 20.0


@workflow
async def kid(ctx: WorkflowContext, n: int) -> int:
    return n


@workflow
async def regrows(ctx: WorkflowContext, n: int) -> int:
    """Continues as new with one argument too many: its next run cannot start."""
    if n == 0:
        ctx.continue_as_new(1, "one too many")
    return n


@workflow
async def awaits(ctx: WorkflowContext, which: str) -> str:
    try:
        if which == "child":
            return str(await ctx.child(kid, 1, 2, workflow_id="kid-1"))
        if which == "start_child":
            await ctx.start_child(kid, workflow_id="kid-2")  # raises: it never started
            return "started"
        return str(await ctx.child(regrows, 0, workflow_id="kid-3"))
    except ChildWorkflowError as exc:
        return f"handled {exc.error['type']}: {exc.error['message']}"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(kid, regrows, awaits)
        yield engine


@pytest.mark.parametrize(
    ("which", "child", "why"),
    [
        ("child", "kid-1", "cannot be called with 2 arguments: too many positional arguments"),
        ("start_child", "kid-2", "cannot be called with 0 arguments: missing a required argument"),
    ],
)
def test_a_child_whose_arguments_do_not_fit_fails_in_its_parent(
    engine: Engine, which: str, child: str, why: str
) -> None:
    answer = engine.start(awaits, which, workflow_id="p").result(timeout=WAIT)
    assert answer.startswith(f"handled TypeError: workflow 'kid' {why}")
    assert "kid(ctx, n)" in answer  # what it takes
    kinds = [e.kind for e in engine.history("p")]
    assert kinds == ["WorkflowStarted", "ChildStarted", "ChildFailed", "WorkflowCompleted"]
    with pytest.raises(WorkflowNotFound):  # nothing of it was recorded
        engine.describe(child)


def test_a_child_whose_next_run_cannot_start_fails_in_its_parent(engine: Engine) -> None:
    answer = engine.start(awaits, "continued", workflow_id="p").result(timeout=WAIT)
    why = "continue_as_new(): workflow 'regrows' cannot be called with 2 arguments"
    assert answer.startswith(f"handled TypeError: {why}"), answer
    failed = [e for e in engine.history("p") if e.kind == "ChildFailed"]
    assert len(failed) == 1


def test_a_parent_recovered_after_the_failure_is_not_told_twice(tmp_path: Path) -> None:
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(kid, regrows, awaits)
        engine.start(awaits, "child", workflow_id="p").result(timeout=WAIT)
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(kid, regrows, awaits)
        assert engine.result("p", timeout=WAIT).startswith("handled TypeError")
        assert [e.kind for e in engine.history("p")].count("ChildFailed") == 1


def test_a_run_continuing_as_new_with_arguments_it_cannot_take_crashes_naming_them(
    engine: Engine,
) -> None:
    """(Before: it closed as continued-as-new into a next run that never existed —
    `result()` said WorkflowNotFound.) A bug in its code: a crash, per its restart policy."""
    with pytest.raises(WorkflowFailed) as failed:
        engine.start(regrows, 0, workflow_id="top").result(timeout=WAIT)
    said = str(failed.value)
    assert "TypeError: continue_as_new(): workflow 'regrows' cannot be called with 2" in said
    assert "regrows(ctx, n)" in said, said
    kinds = [e.kind for e in engine.history("top")]
    assert "WorkflowContinuedAsNew" not in kinds and "RunCrashed" in kinds, kinds
