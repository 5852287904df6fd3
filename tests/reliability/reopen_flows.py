"""Workflows that record a large payload, then wait: for reopening with a lower limit."""

from __future__ import annotations

import threading
from typing import Any

from aion_actors import PayloadError, RetryPolicy, WorkflowContext, activity, workflow
from aion_actors.runtime.definitions import ActivityDefinition, WorkflowDefinition

_ONCE = RetryPolicy(max_attempts=1)
#: set each time a run gets past what it recorded, to `reached`
REACHED = threading.Event()


@activity(executor="thread", retry=_ONCE)
def echo(value: Any) -> Any:
    return value


@activity(executor="thread", retry=_ONCE)
def makes(size: int) -> str:
    return "x" * size


@activity(executor="thread", retry=_ONCE)
def reached() -> None:
    REACHED.set()


@workflow
async def returns(ctx: WorkflowContext, value: Any) -> Any:
    return value


@workflow
async def waits(ctx: WorkflowContext) -> Any:
    return await ctx.wait_signal("go")


@workflow
async def records(ctx: WorkflowContext, where: str, size: int) -> int:
    """Records a `size`-character payload at `where`, then waits for signal `go`;
    a true payload makes it ask for a new activity with one as large. Query `held`:
    the length of what it holds (0 before it holds it)."""
    big = "x" * size
    state = {"held": 0}
    ctx.on_query("held", lambda: state["held"])
    if where == "activity arguments":
        held = await ctx.activity(echo, big)
    elif where == "activity result":
        held = await ctx.activity(makes, size)
    elif where == "child arguments":
        held = await ctx.child(returns, big)
    elif where == "signal to a child":
        child = await ctx.start_child(waits)
        await child.signal("go", big)
        held = await child.result()
    else:
        raise ValueError(f"records() knows no {where!r}")
    state["held"] = len(held)
    await ctx.activity(reached)
    if await ctx.wait_signal("go"):
        await ctx.activity(echo, big)
    return len(held)


@workflow
async def continues(ctx: WorkflowContext, size: int, value: str = "") -> int:
    """Continues as new with a `size`-character argument, then returns its length."""
    if not value:
        ctx.continue_as_new(size, "x" * size)
    return len(value)


@workflow
async def gathers(ctx: WorkflowContext, size: int) -> str:
    """Gathers a small activity and one with a `size`-character argument."""
    try:
        await ctx.gather(ctx.activity(echo, "small"), ctx.activity(echo, "x" * size))
    except PayloadError as exc:
        return f"refused: {exc.path}"
    return "gathered"


ALL: list[WorkflowDefinition | ActivityDefinition[Any, Any]] = [
    echo,
    makes,
    reached,
    returns,
    waits,
    records,
    continues,
    gathers,
]
