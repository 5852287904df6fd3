"""A workflow type neither replay app defines: its runs are skipped, not failed."""

from __future__ import annotations

from aion_actors import WorkflowContext, workflow


@workflow(name="audit")
async def audit(ctx: WorkflowContext, n: int) -> int:
    await ctx.sleep(0.01)
    return n
