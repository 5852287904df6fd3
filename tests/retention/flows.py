"""Workflows for the retention tests: short-lived ones with and without a retention."""

from __future__ import annotations

import threading

from aion_actors import WorkflowContext, workflow

#: set once `parent` has its child's result (the child is closed, the parent open)
CHILD_RETURNED = threading.Event()
#: short enough for a test, long enough that a run is read back before it goes
SHORT = 0.2


@workflow(retention=SHORT)
async def brief(ctx: WorkflowContext, n: int) -> int:
    return n


@workflow(retention=SHORT)
async def waits(ctx: WorkflowContext) -> str:
    return str(await ctx.wait_signal("go"))


@workflow(retention=None)
async def kept(ctx: WorkflowContext, n: int) -> int:
    return n


@workflow
async def unspecified(ctx: WorkflowContext, n: int) -> int:
    return n


@workflow(retention="1h")
async def parent(ctx: WorkflowContext) -> int:
    value = int(await ctx.child(brief, 7, workflow_id="the-child"))
    CHILD_RETURNED.set()  # (a test's side channel; workflow code must not do this)
    await ctx.wait_signal("finish")
    return value


ALL = (brief, waits, kept, unspecified, parent)
