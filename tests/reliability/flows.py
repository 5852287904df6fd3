"""Workflows and activities of the bad-input tests (module level, so workers can import them)."""

from __future__ import annotations

import time
from typing import Any

from aion_actors import (
    ChildWorkflowError,
    PayloadError,
    RetryPolicy,
    WorkflowContext,
    activity,
    workflow,
)
from aion_actors.runtime.definitions import ActivityDefinition, WorkflowDefinition

#: a module path, used as a registered *name*: the engine must never import it.
CANARY = "tests.reliability.canary"
_ONCE = RetryPolicy(max_attempts=1)


@activity(executor="thread", retry=_ONCE)
def echo(value: Any) -> Any:
    return value


@activity(executor="process", retry=_ONCE)
def returns(what: str) -> Any:
    """A result that cannot be recorded: a set, or a list nested 100 000 deep."""
    if what == "set":
        return {"ids": [1, 2, {3}]}
    nested: list[Any] = []
    for _ in range(100_000):
        nested = [nested]
    return nested


@activity(executor="process", retry=_ONCE)
def sized(size: int) -> str:
    return "x" * size


@activity(name=f"{CANARY}:stalls", executor="process")
def stalls() -> str:
    time.sleep(120)
    return "never"


@activity(name=f"{CANARY}:stalls", executor="thread")
def finishes() -> str:
    return "finished"


@workflow
async def waits(ctx: WorkflowContext, name: str = "go") -> Any:
    return await ctx.wait_signal(name)


@workflow
async def calls(ctx: WorkflowContext, name: str, *args: Any) -> Any:
    return await ctx.activity(name, *args)


@workflow
async def sends_set(ctx: WorkflowContext) -> Any:
    return await ctx.activity(echo, {"tags": {"a"}})


@workflow
async def returns_raw(ctx: WorkflowContext, what: str) -> Any:
    await ctx.sleep(0)
    if what == "set":
        return {1, 2}
    nested: list[Any] = []
    for _ in range(100_000):
        nested = [nested]
    return nested


@workflow
async def grows(ctx: WorkflowContext, where: str, size: int) -> Any:
    """Makes a `size`-character payload inside the run and hands it to `where`."""
    big = "x" * size
    if where == "activity arguments":
        return await ctx.activity(echo, big)
    if where == "child arguments":
        return await ctx.child(waits, big)
    if where == "continue-as-new arguments":
        ctx.continue_as_new("workflow result", big)
    return big


@workflow
async def shrinks(ctx: WorkflowContext, size: int) -> Any:
    """Catches the `PayloadError` of a `size`-character argument at the call, sends less."""
    try:
        return await ctx.activity(echo, "x" * size)
    except PayloadError as exc:
        await ctx.sleep(0)
        return await ctx.activity(echo, f"refused: {exc.path}")


@workflow(name=f"{CANARY}:planted")
async def planted(ctx: WorkflowContext) -> str:
    await ctx.sleep(0.2)
    return "woke"


@workflow
async def runs_stalls(ctx: WorkflowContext) -> str:
    return str(await ctx.activity(f"{CANARY}:stalls"))


@workflow
async def relay(ctx: WorkflowContext, hops: int) -> Any:
    """Continues as new `hops` times, then waits for signal `go`."""
    if hops:
        ctx.continue_as_new(hops - 1)
    return await ctx.wait_signal("go")


@workflow
async def relays_child(ctx: WorkflowContext) -> Any:
    """Waits for a `relay` child; query `child` tells what the parent has heard of it."""
    heard = {"child": "running"}
    ctx.on_query("child", lambda: heard["child"])
    try:
        result = await ctx.child(relay, 1, workflow_id="relay")
    except ChildWorkflowError as exc:
        heard["child"] = f"failed: {exc}"
        raise
    heard["child"] = "done"
    return result


@workflow
async def collects(ctx: WorkflowContext, senders: int, each: int) -> dict[str, Any]:
    """Consumes `senders * each` signals `[sender, i]`; counts any out of a sender's order."""
    last = [-1] * senders
    disorder = 0
    for _ in range(senders * each):
        sender, i = await ctx.wait_signal("item")
        disorder += i != last[sender] + 1
        last[sender] = i
    return {"last": last, "disorder": disorder}


@workflow
async def names_child(ctx: WorkflowContext, child_id: Any) -> Any:
    """Starts a `waits` child under the id it is given, whatever its type."""
    return await ctx.child(waits, workflow_id=child_id)


ALL: list[WorkflowDefinition | ActivityDefinition[Any, Any]] = [
    echo,
    returns,
    sized,
    waits,
    calls,
    sends_set,
    returns_raw,
    grows,
    shrinks,
    relay,
    relays_child,
    collects,
    names_child,
]
