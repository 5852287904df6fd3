"""The app as it was when the runs were recorded: `checkout` reserves, then charges.

`aion-actors replay DIR --app tests.cli.replay_v1` must pass every run it recorded.
"""

from __future__ import annotations

from typing import Any

from aion_actors import WorkflowContext, activity, workflow


@activity(executor="thread")
def reserve(item: str, extra: Any) -> list[Any]:
    return [f"reserved {item}", extra]


@activity(executor="thread")
def charge(amount: int) -> int:
    return amount


@workflow(name="checkout")
async def checkout(ctx: WorkflowContext, item: str, amount: int, extra: Any) -> list[Any]:
    reserved = await ctx.activity(reserve, item, extra)
    charged = await ctx.activity(charge, amount)
    return [reserved, charged]


@workflow(name="held")
async def held(ctx: WorkflowContext) -> Any:
    await ctx.activity(reserve, "held", None)
    return await ctx.wait_signal("go", timeout=3600)
