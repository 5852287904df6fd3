"""Workflows the telemetry tests trace (module level, so workers can import them)."""

from __future__ import annotations

import os
import time
from typing import Any

from aion_actors import RetryPolicy, WorkflowContext, activity, current_attempt, workflow
from supervisor import Backoff, RestartPolicy

_FAST = Backoff(initial=0.01, multiplier=1.0, max=0.01)
#: crashes of `crashes_once` still to come, in the engine process
FAULTS: dict[str, int] = {"crashes": 0}


@activity(executor="thread")
def double(value: int) -> int:
    return value * 2


@activity(executor="thread", retry=RetryPolicy(max_attempts=3, initial=0.01))
def flaky(value: int) -> int:
    """Fails its first attempt, succeeds on the second."""
    if current_attempt().attempt == 1:
        raise RuntimeError("first attempt fails")
    return value + 1


@activity(executor="thread")
def gated(ledger: str, value: int) -> int:
    """Waits (up to a minute) for `<ledger>.gate`, then leaves a ledger line per execution."""
    deadline = time.monotonic() + 60
    while not os.path.exists(ledger + ".gate") and time.monotonic() < deadline:
        time.sleep(0.005)
    with open(ledger, "a") as f:
        f.write(f"{current_attempt().activity_id}\n")
    return value + 1


@workflow
async def traced_child(ctx: WorkflowContext, value: int) -> int:
    return await ctx.activity(double, value)


@workflow
async def traced_parent(ctx: WorkflowContext, value: int) -> int:
    value = await ctx.activity(flaky, value)
    return await ctx.child(traced_child, value)


@workflow
async def steps_around_a_wait(ctx: WorkflowContext, value: int) -> int:
    value = await ctx.activity(double, value)
    await ctx.wait_signal("go")
    return await ctx.activity(double, value)


@workflow
async def three_gated(ctx: WorkflowContext, ledger: str) -> int:
    value = await ctx.activity(double, 1)
    value = await ctx.activity(gated, ledger, value)
    return await ctx.activity(double, value)


@workflow(restart=RestartPolicy(max_restarts=2, within_seconds=60, backoff=_FAST))
async def crashes_once(ctx: WorkflowContext) -> int:
    value = await ctx.activity(double, 1)
    if FAULTS["crashes"] > 0:
        FAULTS["crashes"] -= 1
        raise RuntimeError("bug in workflow code")
    return value


ALL: list[Any] = [
    double,
    flaky,
    gated,
    traced_child,
    traced_parent,
    steps_around_a_wait,
    three_gated,
    crashes_once,
]
