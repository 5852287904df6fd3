"""The app after the same change as `replay_v2`, made safely: the new order is behind a patch.

Replaying `replay_v1`'s runs of `checkout` with it takes the old branch: every run passes.
"""

from __future__ import annotations

from typing import Any

from aion_actors import WorkflowContext, workflow
from tests.cli.replay_v1 import charge, held, reserve

__all__ = ["charge", "checkout", "held", "reserve"]


@workflow(name="checkout")
async def checkout(ctx: WorkflowContext, item: str, amount: int, extra: Any) -> list[Any]:
    if ctx.patched("charge-first"):
        charged = await ctx.activity(charge, amount)
        reserved = await ctx.activity(reserve, item, extra)
    else:
        reserved = await ctx.activity(reserve, item, extra)
        charged = await ctx.activity(charge, amount)
    return [reserved, charged]
