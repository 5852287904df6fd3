"""Workflows that leave a data directory with every kind of run the dashboard draws:
retried activities, timers, signals, children, crashes with restarts, a parked run."""

from __future__ import annotations

from aion_actors import RetryPolicy, WorkflowContext, activity, workflow
from supervisor import Backoff, RestartPolicy

_flaky: set[str] = set()
_crashed: set[str] = set()
_FAST = Backoff(0.01)


@activity(executor="thread")
def reserve(item: str) -> str:
    return f"reserved {item}"


@activity(executor="thread", retry=RetryPolicy(max_attempts=3, initial=0.05))
def charge(order: str) -> str:
    """Fails its first attempt per order, then succeeds: a retry on the timeline."""
    if order not in _flaky:
        _flaky.add(order)
        raise ConnectionError("card service unavailable")
    return f"charged {order}"


@workflow
async def ship(ctx: WorkflowContext, order: str) -> str:
    return str(await ctx.activity(reserve, f"box for {order}"))


@workflow
async def order(ctx: WorkflowContext, name: str) -> str:
    """Every lane: an activity, a retried activity, a timer, a signal, a child."""
    ctx.set_attributes({"customer": name})
    await ctx.activity(reserve, name)
    await ctx.activity(charge, name)
    await ctx.sleep(0.05)
    approval = await ctx.wait_signal("approve", timeout=3600)
    shipped = await ctx.child(ship, name, workflow_id=f"{ctx.workflow_id}-ship")
    return f"{approval}: {shipped}"


@workflow(restart=RestartPolicy(max_restarts=3, within_seconds=60, backoff=_FAST))
async def crash_once(ctx: WorkflowContext) -> str:
    await ctx.activity(reserve, "crash")
    if ctx.workflow_id not in _crashed:
        _crashed.add(ctx.workflow_id)
        raise RuntimeError("injected crash")
    return "recovered"


@workflow(
    name="always_broken",
    restart=RestartPolicy(max_restarts=1, within_seconds=60, backoff=_FAST, on_exhausted="park"),
)
async def always_broken(ctx: WorkflowContext) -> str:
    await ctx.activity(reserve, "broken")
    raise RuntimeError("always broken")


@workflow(name="always_broken")
async def always_broken_fixed(ctx: WorkflowContext) -> str:
    return str(await ctx.activity(reserve, "broken"))  # no raise now


@workflow
async def awaits_approval(ctx: WorkflowContext) -> str:
    await ctx.activity(reserve, "pending")
    return str(await ctx.wait_signal("approve", timeout=3600))


def reset() -> None:
    _flaky.clear()
    _crashed.clear()


ALL = (reserve, charge, ship, order, crash_once, always_broken, awaits_approval)
