"""The app after a change that breaks runs in flight: `checkout` charges before reserving.

Replaying `replay_v1`'s runs of `checkout` with it must diverge at the first activity.
"""

from __future__ import annotations

from typing import Any

from aion_actors import WorkflowContext, workflow
from tests.cli.replay_v1 import charge, held, reserve

__all__ = ["charge", "checkout", "held", "reserve"]


@workflow(name="checkout")
async def checkout(ctx: WorkflowContext, item: str, amount: int, extra: Any) -> list[Any]:
    charged = await ctx.activity(charge, amount)
    reserved = await ctx.activity(reserve, item, extra)
    return [reserved, charged]
