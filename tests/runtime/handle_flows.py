"""Workflows for child handles (`ctx.start_child`), `ctx.external` and the client's calls."""

from __future__ import annotations

from typing import Any

from aion_actors import (
    Cancelled,
    ChildWorkflowError,
    ExternalWorkflowError,
    WorkflowContext,
    workflow,
)


@workflow
async def waits_for_go(ctx: WorkflowContext) -> Any:
    try:
        return await ctx.wait_signal("go")
    except Cancelled:
        return "cancelled"


@workflow
async def waits_twice(ctx: WorkflowContext) -> list[Any]:
    return [await ctx.wait_signal("go"), await ctx.wait_signal("go")]


@workflow
async def doubles_on_go(ctx: WorkflowContext) -> int:
    return 2 * int(await ctx.wait_signal("go"))


@workflow
async def signals_its_child(ctx: WorkflowContext, value: int) -> int:
    child = await ctx.start_child(doubles_on_go, workflow_id="kid")
    await child.signal("go", value)
    return int(await child.result())


@workflow
async def cancels_its_child(ctx: WorkflowContext) -> str:
    child = await ctx.start_child(doubles_on_go, workflow_id="doomed")
    await child.cancel("no longer needed")
    try:
        await child.result()
    except ChildWorkflowError as exc:
        return f"child {exc.error['type']}"
    return "child finished"


@workflow
async def starts_taken_child(ctx: WorkflowContext) -> str:
    try:
        await ctx.start_child(waits_for_go, workflow_id="taken")
    except ChildWorkflowError as exc:
        return f"refused: {exc.error['type']}"
    return "started"


@workflow
async def signals_another(ctx: WorkflowContext, target: str, payload: Any) -> str:
    try:
        await ctx.external(target).signal("go", payload)
    except ExternalWorkflowError as exc:
        return f"not sent: {exc.error['type']}"
    return "sent"


@workflow
async def cancels_another(ctx: WorkflowContext, target: str) -> str:
    await ctx.external(target).cancel("asked by a workflow")
    return "cancel recorded"


@workflow
async def counts_signals(ctx: WorkflowContext, want: int) -> list[Any]:
    got: list[Any] = []
    ctx.on_signal("add", got.append)
    await ctx.wait_condition(lambda: len(got) >= want)
    return sorted(got)


@workflow
async def holds_a_name(ctx: WorkflowContext) -> str:
    """Answers query "name" and update "rename"; returns its name once signalled "go"."""
    state = {"name": "first"}
    ctx.on_query("name", lambda: state["name"])

    def rename(new: str) -> str:
        state["name"] = new
        return new

    ctx.on_update("rename", rename)
    await ctx.wait_signal("go")
    return state["name"]


ALL = [
    holds_a_name,
    counts_signals,
    waits_for_go,
    waits_twice,
    doubles_on_go,
    signals_its_child,
    cancels_its_child,
    starts_taken_child,
    signals_another,
    cancels_another,
]
