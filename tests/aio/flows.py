"""Workflows and activities the asyncio tests register."""

from __future__ import annotations

import asyncio
from typing import Any

from aion_actors import WorkflowContext, activity, workflow
from supervisor import RestartPolicy


@activity(executor="thread")
async def greet(name: str) -> str:
    await asyncio.sleep(0.01)
    return f"hello {name}"


@workflow
async def waiter(ctx: WorkflowContext, name: str) -> dict[str, Any]:
    """Greets, then waits for signal "go"; answers query "stage" and update "rename"."""
    state = {"stage": "greeting", "name": name}
    ctx.on_query("stage", lambda: state["stage"])

    def rename(new: str) -> str:
        state["name"] = new
        return f"renamed to {new}"

    ctx.on_update("rename", rename)
    greeting = await ctx.activity(greet, name)
    state["stage"] = "waiting"
    payload = await ctx.wait_signal("go")
    return {"greeting": greeting, "go": payload, "name": state["name"]}


@workflow
async def chain(ctx: WorkflowContext, left: int) -> int:
    """Continues as new `left` times, then returns how many it went through."""
    if left > 0:
        ctx.continue_as_new(left - 1)
    return 0


@workflow(restart=RestartPolicy(max_restarts=0, on_exhausted="park"))
async def broken(ctx: WorkflowContext) -> None:
    raise RuntimeError("this workflow always crashes")


@activity(executor="thread")
async def nap(seconds: float) -> float:
    await asyncio.sleep(seconds)
    return seconds


@workflow
async def napper(ctx: WorkflowContext, seconds: float) -> float:
    return float(await ctx.activity(nap, seconds))
