"""Workflows that make the first-hour mistakes: asyncio awaits and wall-clock branches."""

from __future__ import annotations

import asyncio
import time

from aion_actors import WorkflowContext, activity, workflow
from supervisor import RestartPolicy

#: what `time.time()` must stay below for `reads_the_clock` to take its first branch
CUTOFF = {"at": float("inf")}


@activity(executor="thread")
def echo(value: int) -> int:
    return value


@workflow
async def awaits_asyncio_gather(ctx: WorkflowContext) -> list[int]:
    return list(await asyncio.gather(ctx.activity(echo, 1), ctx.activity(echo, 2)))


@workflow
async def awaits_asyncio_sleep(ctx: WorkflowContext) -> None:
    await asyncio.sleep(0.01)


@workflow
async def awaits_asyncio_sleep_zero(ctx: WorkflowContext) -> None:
    await asyncio.sleep(0)


@workflow
async def awaits_asyncio_wait_for(ctx: WorkflowContext) -> int:
    return int(await asyncio.wait_for(ctx.activity(echo, 1), timeout=5))


@workflow
async def awaits_asyncio_event(ctx: WorkflowContext) -> None:
    await asyncio.Event().wait()


@workflow(restart=RestartPolicy(max_restarts=0, on_exhausted="park"))
async def reads_the_clock(ctx: WorkflowContext) -> int:
    """Branches on `time.time()` instead of `ctx.now()`: a replay after the cutoff diverges."""
    first = await ctx.activity(echo, 1)
    if time.time() < CUTOFF["at"]:
        first = await ctx.activity(echo, first + 1)
    else:
        await ctx.sleep(0)
    await ctx.wait_signal("go")
    return first


ALL = [
    echo,
    awaits_asyncio_gather,
    awaits_asyncio_sleep,
    awaits_asyncio_sleep_zero,
    awaits_asyncio_wait_for,
    awaits_asyncio_event,
    reads_the_clock,
]
