"""Workflows and activities the runtime tests run (module level, so workers can import them)."""

from __future__ import annotations

import os
import time
from typing import Any

from aion_actors import (
    RetryPolicy,
    WorkflowContext,
    WorkflowError,
    activity,
    current_attempt,
    workflow,
)
from supervisor import Backoff, RestartPolicy

#: switches the tests flip to make workflow code misbehave in the engine process.
FAULTS: dict[str, int] = {"crashes": 0}


def _ledger(path: str, line: str) -> None:
    with open(path, "a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


@activity(executor="thread")
def gated_step(ledger: str, value: int) -> int:
    """Waits (up to a minute) for `<ledger>.gate` to exist, then leaves a ledger line."""
    info = current_attempt()
    deadline = time.monotonic() + 60
    while not os.path.exists(ledger + ".gate") and time.monotonic() < deadline:
        time.sleep(0.005)
    _ledger(ledger, f"{info.workflow_id} {info.activity_id} {info.attempt}")
    return value + 1


@workflow
async def gated_pair(ctx: WorkflowContext, ledger: str, value: int) -> int:
    value = await ctx.activity(gated_step, ledger, value)
    return await ctx.activity(gated_step, ledger, value)


@activity(executor="thread")
def add(a: int, b: int) -> int:
    return a + b


@activity
def add_in_process(a: int, b: int) -> int:
    return a + b


@activity
def step(ledger: str, value: int, factor: int) -> int:
    """A side effect recorded in a ledger file: one line per execution."""
    info = current_attempt()
    time.sleep(0.005)
    _ledger(ledger, f"{info.workflow_id} {info.activity_id} {info.attempt}")
    return value * factor + 1


@activity(retry=RetryPolicy(max_attempts=3, initial=0.01))
def dies_first(ledger: str, how: str) -> str:
    """Kills its own worker process on the first attempt."""
    info = current_attempt()
    _ledger(ledger, f"{info.workflow_id} {info.activity_id} {info.attempt}")
    if info.attempt == 1:
        if how == "sigkill":
            os.kill(os.getpid(), 9)
        os._exit(1)
    return f"survived on attempt {info.attempt}"


@activity(retry=RetryPolicy(max_attempts=2, initial=0.01, non_retryable=(ValueError,)))
def refuses(kind: str) -> None:
    if kind == "value":
        raise ValueError("bad value")
    raise RuntimeError("transient trouble")


@workflow
async def three_steps(ctx: WorkflowContext, x: int) -> int:
    a = await ctx.activity(add, x, 1)
    b = await ctx.activity(add_in_process, a, 10)
    return await ctx.activity(add, b, 100)


@workflow
async def five_steps(ctx: WorkflowContext, ledger: str, seed: int) -> int:
    value = seed
    for factor in range(2, 7):
        value = await ctx.activity(step, ledger, value, factor)
    return value


def five_steps_expected(seed: int) -> int:
    value = seed
    for factor in range(2, 7):
        value = value * factor + 1
    return value


@workflow
async def gives_up(ctx: WorkflowContext) -> None:
    await ctx.activity(add, 1, 1)
    raise WorkflowError("the order is invalid")


@workflow
async def fails_on_activity(ctx: WorkflowContext, kind: str) -> None:
    await ctx.activity(refuses, kind)


@workflow
async def survives_worker_death(ctx: WorkflowContext, ledger: str, how: str) -> str:
    return str(await ctx.activity(dies_first, ledger, how))


_FAST = Backoff(initial=0.01, multiplier=1.0, max=0.01)


def _crash_until_fixed() -> None:
    if FAULTS["crashes"] > 0:
        FAULTS["crashes"] -= 1
        raise RuntimeError("bug in workflow code")


@workflow(restart=RestartPolicy(max_restarts=2, within_seconds=60, backoff=_FAST))
async def crashy_fail(ctx: WorkflowContext) -> str:
    await ctx.activity(add, 1, 1)
    _crash_until_fixed()
    return "fine"


@workflow(
    name="crashy_park",
    restart=RestartPolicy(max_restarts=1, within_seconds=60, backoff=_FAST, on_exhausted="park"),
)
async def crashy_park(ctx: WorkflowContext) -> str:
    await ctx.activity(add, 1, 1)
    raise RuntimeError("always broken")


@workflow(name="crashy_park")
async def crashy_park_fixed(ctx: WorkflowContext) -> str:
    total = await ctx.activity(add, 1, 1)
    return f"fixed: {total}"


@workflow(name="ordered")
async def ordered(ctx: WorkflowContext) -> list[Any]:
    first = await ctx.activity(add, 1, 2)
    second = await ctx.activity(add_in_process, 3, 4)
    await ctx.wait_signal("finish")
    return [first, second]


@workflow(name="ordered")
async def ordered_swapped(ctx: WorkflowContext) -> list[Any]:
    second = await ctx.activity(add_in_process, 3, 4)
    first = await ctx.activity(add, 1, 2)
    await ctx.wait_signal("finish")
    return [first, second]


SEEN: list[list[Any]] = []


@workflow
async def deterministic_values(ctx: WorkflowContext) -> list[Any]:
    before = [ctx.random(), str(ctx.uuid4()), ctx.now().isoformat()]
    await ctx.activity(add, 1, 1)
    SEEN.append([*before, ctx.now().isoformat(), ctx.random()])
    _crash_until_fixed()
    return before


@workflow
async def awaits_asyncio(ctx: WorkflowContext) -> None:
    import asyncio

    await asyncio.sleep(0.01)


@workflow
async def doubles(ctx: WorkflowContext, value: int) -> int:
    return 2 * value


@workflow
async def parent_of_doubles(ctx: WorkflowContext, value: int) -> int:
    return int(await ctx.child(doubles, value)) + 1


@workflow
async def gathers(ctx: WorkflowContext) -> list[int]:
    results = await ctx.gather(ctx.activity(add, 1, 1), ctx.activity(add_in_process, 2, 2))
    return [int(r) for r in results]


ALL = [
    add,
    add_in_process,
    step,
    dies_first,
    refuses,
    three_steps,
    five_steps,
    gives_up,
    fails_on_activity,
    survives_worker_death,
    crashy_fail,
    crashy_park,
    ordered,
    deterministic_values,
    awaits_asyncio,
    gathers,
]


@workflow(restart=RestartPolicy(restart="temporary"))
async def crashes_once_for_good(ctx: WorkflowContext) -> None:
    await ctx.activity(add, 1, 1)
    raise RuntimeError("no second chances")


ALL.append(crashes_once_for_good)
