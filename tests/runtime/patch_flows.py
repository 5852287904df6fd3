"""One workflow type, "payment", as its code changes while runs are in flight.

v1 charges the old way; v2 patches in the new way (`ctx.patched`); v3 keeps
only the new way once every v1 run is gone (`ctx.deprecate_patch`). Each
waits for the signal "ship" after its charge, so a test can hold a run in
flight across a restart. `VERSIONS` maps a name to the code to register.
"""

from __future__ import annotations

from aion_actors import WorkflowContext, activity, workflow

PATCH = "charge-v2"


@activity(executor="thread")
def charge_old(amount: int) -> str:
    return f"old {amount}"


@activity(executor="thread")
def charge_new(amount: int) -> str:
    return f"new {amount}"


@workflow(name="payment")
async def payment_v1(ctx: WorkflowContext, amount: int) -> str:
    receipt = await ctx.activity(charge_old, amount)
    await ctx.wait_signal("ship")
    return receipt


@workflow(name="payment")
async def payment_v2(ctx: WorkflowContext, amount: int) -> str:
    took = ctx.patched(PATCH)
    if took:
        receipt = await ctx.activity(charge_new, amount)
    else:
        receipt = await ctx.activity(charge_old, amount)
    assert ctx.patched(PATCH) is took  # the first answer holds, recorded once
    await ctx.wait_signal("ship")
    return receipt


@workflow(name="payment")
async def payment_v3(ctx: WorkflowContext, amount: int) -> str:
    ctx.deprecate_patch(PATCH)
    receipt = await ctx.activity(charge_new, amount)
    await ctx.wait_signal("ship")
    return receipt


@workflow(name="payment")
async def payment_dropped(ctx: WorkflowContext, amount: int) -> str:
    """v2's change made without a patch: only the new branch, no `ctx.patched` call."""
    receipt = await ctx.activity(charge_new, amount)
    await ctx.wait_signal("ship")
    return receipt


@workflow
async def notifies_after_signal(ctx: WorkflowContext) -> str:
    """A patch placed after a run's last command: a closed run never reached it."""
    await ctx.wait_signal("ship")
    if ctx.patched("notify"):
        await ctx.activity(charge_new, 0)
    return "shipped"


@workflow
async def patched_in_handler(ctx: WorkflowContext) -> list[bool]:
    seen: list[bool] = []
    ctx.on_signal("ship", lambda _payload: seen.append(ctx.patched("in-handler")))
    await ctx.wait_condition(lambda: bool(seen))
    await ctx.activity(charge_new, 1)
    return seen


@workflow(name="review")
async def review_v1(ctx: WorkflowContext, amount: int) -> str:
    """Waits for "hold" (before the place v2 patches), charges, then waits for "approve"."""
    await ctx.wait_signal("hold")
    receipt = await ctx.activity(charge_old, amount)
    await ctx.wait_signal("approve")
    return f"approved: {receipt}"


@workflow(name="review")
async def review_v2(ctx: WorkflowContext, amount: int) -> str:
    """v1 with a manual review patched in where v1 waits for "approve"."""
    await ctx.wait_signal("hold")
    receipt = await ctx.activity(charge_old, amount)
    if ctx.patched("manual-review"):
        await ctx.wait_signal("review-ok")
        return f"reviewed: {receipt}"
    await ctx.wait_signal("approve")
    return f"approved: {receipt}"


ACTIVITIES = (charge_old, charge_new)
VERSIONS = {
    "v1": payment_v1,
    "v2": payment_v2,
    "v3": payment_v3,
    "dropped": payment_dropped,
}


@workflow
async def asks_in_a_query(ctx: WorkflowContext) -> None:
    ctx.on_query("took", lambda patch_id: ctx.patched(patch_id))
    ctx.patched("known")
    await ctx.wait_signal("ship")
