"""Workflows the schedule tests fire."""

from __future__ import annotations

from aion_actors import WorkflowContext, workflow


@workflow
async def tick(ctx: WorkflowContext, label: str) -> str:
    """Ends at once: its workflow_id says which scheduled time fired it."""
    return f"{label} {ctx.workflow_id}"


@workflow
async def lingers(ctx: WorkflowContext, seconds: float) -> str:
    """Stays open `seconds` (virtual time), so the next firing overlaps it."""
    await ctx.sleep(seconds)
    return "done"


ALL = [tick, lingers]
