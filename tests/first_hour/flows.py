"""Workflows of the first-hour tests (module level, so worker processes could import them)."""

from __future__ import annotations

from typing import Any

from aion_actors import Cancelled, WorkflowContext, activity, workflow
from supervisor import Backoff, RestartPolicy

_FAST = Backoff(initial=0.0, multiplier=1.0, max=0.0, jitter=0.0)


@activity(executor="thread")
def note(value: Any) -> Any:
    return value


@workflow
async def counts_signals(ctx: WorkflowContext) -> int:
    seen = 0
    ctx.on_query("seen", lambda: seen)
    for _ in range(2):
        await ctx.wait_signal("tick")
        seen += 1
    ctx.on_query("final", lambda: f"saw {seen}")
    return seen


@workflow
async def compensates(ctx: WorkflowContext) -> str:
    try:
        await ctx.wait_signal("never")
    except Cancelled:
        await ctx.activity(note, "refunded")
        raise
    return "not cancelled"


@workflow(
    restart=RestartPolicy(max_restarts=0, within_seconds=60, backoff=_FAST, on_exhausted="park")
)
async def breaks(ctx: WorkflowContext) -> str:
    await ctx.activity(note, 1)
    raise RuntimeError("a bug in workflow code")


@workflow
async def calls_a_renamed_activity(ctx: WorkflowContext) -> Any:
    return await ctx.activity("note_renamed", 1)  # registered under another name


@workflow
async def waits(ctx: WorkflowContext) -> Any:
    return await ctx.wait_signal("go")


@workflow(name="waits")
async def waits_too(ctx: WorkflowContext) -> Any:
    return await ctx.wait_signal("go")
