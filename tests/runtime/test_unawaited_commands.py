"""A ctx command workflow code made and never awaited is warned about, naming it and the
line that made it (as Python warns of a coroutine never awaited); commands awaited
together, or later, are not."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors import Engine, WorkflowContext, activity, workflow
from aion_actors.core import events as ev

CHARGED: list[int] = []


@activity(executor="thread")
def charge(n: int) -> int:
    CHARGED.append(n)
    return n


@workflow
async def forgot(ctx: WorkflowContext) -> str:
    ctx.activity(charge, 5)  # forgot await
    ctx.sleep(1)  # forgot await
    return "done"


@workflow
async def forgot_in_a_loop(ctx: WorkflowContext) -> str:
    for n in range(3):
        ctx.activity(charge, n)  # forgot await, three times on one line
    return "done"


@workflow
async def together(ctx: WorkflowContext) -> list[int]:
    first, second = ctx.activity(charge, 1), ctx.activity(charge, 2)
    later = ctx.activity(charge, 3)
    both = await ctx.gather(first, second)
    await ctx.sleep(0.01)
    index, _ = await ctx.wait_first(ctx.activity(charge, 4), ctx.sleep(30))
    await ctx.gather()  # nothing to await: returns at once
    return [*both, await later, index]


@workflow
async def fails_before_awaiting(ctx: WorkflowContext) -> None:
    ctx.activity(charge, 9)
    raise ValueError("cut short")


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    CHARGED.clear()
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(charge, forgot, forgot_in_a_loop, together, fails_before_awaiting)
        yield engine


def _run(engine: Engine, workflow: object, workflow_id: str) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        handle = engine.start(workflow, workflow_id=workflow_id)  # type: ignore[arg-type]
        with contextlib.suppress(Exception):  # the failing workflow's test reads the warnings
            handle.result(timeout=30)
    return [w for w in caught if issubclass(w.category, RuntimeWarning)]


def test_a_ctx_command_never_awaited_is_warned_about_naming_it(engine: Engine) -> None:
    caught = _run(engine, forgot, "f")
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 2, messages
    assert "workflow 'forgot' (run " in messages[0]
    assert "made ctx.activity('charge') but never awaited it: it did not run" in messages[0]
    assert "made ctx.sleep(1) but never awaited it" in messages[1]
    assert all(w.filename == __file__ for w in caught)  # pointing at the line that made it
    assert {w.lineno for w in caught} == {forgot.fn.__code__.co_firstlineno + n for n in (2, 3)}
    assert [e.kind for e in engine.history("f")] == ["WorkflowStarted", "WorkflowCompleted"]
    assert CHARGED == []


def test_a_line_that_made_several_commands_is_warned_about_once(engine: Engine) -> None:
    caught = _run(engine, forgot_in_a_loop, "loop")
    assert len(caught) == 1
    assert "ctx.activity('charge') (3 times)" in str(caught[0].message)


def test_commands_awaited_together_are_not_warned_about(engine: Engine) -> None:
    assert _run(engine, together, "t") == []
    assert engine.result("t") == [1, 2, 3, 0]
    assert any(isinstance(e, ev.ActivityScheduled) for e in engine.history("t"))


def test_a_run_that_failed_is_not_warned_about(engine: Engine) -> None:
    assert _run(engine, fails_before_awaiting, "failed") == []
