"""Workflows for the workflow-semantics bugs: retry waits, gather failures, child ids."""

from __future__ import annotations

from typing import Any

from aion_actors import (
    ActivityError,
    ChildWorkflowError,
    RetryPolicy,
    WorkflowContext,
    activity,
    current_attempt,
    workflow,
)


@activity(executor="thread", retry=RetryPolicy(max_attempts=5, initial=0.05, multiplier=1))
def fails_four_times() -> int:
    attempt = current_attempt().attempt
    if attempt < 5:
        raise RuntimeError(f"attempt {attempt} fails")
    return attempt


@workflow
async def retries_quickly(ctx: WorkflowContext) -> int:
    return int(await ctx.activity(fails_four_times))


@activity(executor="thread", retry=RetryPolicy(max_attempts=1))
def declines() -> None:
    raise ValueError("declined")


@workflow
async def gathers_failure_with_long_sleep(ctx: WorkflowContext) -> str:
    try:
        await ctx.gather(ctx.activity(declines), ctx.sleep(600))
    except ActivityError as exc:
        return f"raised {exc.error['type']}"
    return "not raised"


@workflow
async def short(ctx: WorkflowContext, value: int, wait: bool = False) -> int:
    if wait:
        await ctx.wait_signal("go")
    return value


@workflow
async def child_with_taken_id(ctx: WorkflowContext, child_id: str) -> str:
    try:
        await ctx.child(short, 3, workflow_id=child_id)
    except ChildWorkflowError as exc:
        return f"{exc.error['type']}: {exc.error['message']}"
    return "started"


@workflow
async def two_children_one_id(ctx: WorkflowContext) -> list[Any]:
    results = await ctx.gather(
        ctx.child(short, 1, True, workflow_id="twin"),
        ctx.child(short, 2, workflow_id="twin"),
        return_exceptions=True,
    )
    return [r if isinstance(r, int) else type(r).__name__ for r in results]


@workflow
async def reuses_child_id(ctx: WorkflowContext) -> list[int]:
    first = await ctx.child(short, 1, workflow_id="c")
    second = await ctx.child(short, 2, workflow_id="c")
    return [int(first), int(second)]


ALL = [
    fails_four_times,
    retries_quickly,
    declines,
    gathers_failure_with_long_sleep,
    short,
    child_with_taken_id,
    two_children_one_id,
    reuses_child_id,
]
