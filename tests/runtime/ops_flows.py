"""Workflows and activities for the pause and reset tests (test_pause.py, test_reset.py).

Each activity appends a line to a ledger file, so a test counts how often it ran.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from aion_actors import RetryPolicy, WorkflowContext, activity, workflow

ONCE = RetryPolicy(max_attempts=1)


def _note(ledger: str, text: str) -> None:
    with open(ledger, "a") as f:
        f.write(text + "\n")


def ran(ledger: str | Path) -> list[str]:
    """The lines the activities wrote, in order."""
    path = Path(ledger)
    return path.read_text().splitlines() if path.exists() else []


@activity(executor="thread", retry=ONCE)
def step(ledger: str, n: int) -> int:
    """Step 3 is broken: it raises (the fix is `step_fixed`, registered under this name)."""
    _note(ledger, f"step {n}")
    if n == 3:
        raise ValueError("step 3 is broken")
    return n


@activity(name="step", executor="thread", retry=ONCE)
def step_fixed(ledger: str, n: int) -> int:
    _note(ledger, f"step {n}")
    return n


#: `gated` waits for it: a test holds the activity running while it pauses the run
GATE = threading.Event()


@activity(executor="thread")
def gated(ledger: str, n: int) -> int:
    GATE.wait(30)
    _note(ledger, f"gated {n}")
    return n


@workflow
async def three_steps(ctx: WorkflowContext, ledger: str) -> int:
    total = 0
    for n in (1, 2, 3):
        total += int(await ctx.activity(step, ledger, n))
    return total


@workflow
async def waits_then_steps(ctx: WorkflowContext, ledger: str) -> list[Any]:
    first = await ctx.activity(step_fixed, ledger, 1)
    got = await ctx.wait_signal("go")
    second = await ctx.activity(step_fixed, ledger, 2)
    return [first, got, second]


@workflow
async def gated_then_step(ctx: WorkflowContext, ledger: str) -> list[Any]:
    first = await ctx.activity(gated, ledger, 1)
    second = await ctx.activity(step_fixed, ledger, 2)
    signals = [await ctx.wait_signal("more")]
    return [first, second, signals]


@workflow
async def signals_while_waiting(ctx: WorkflowContext, ledger: str) -> list[Any]:
    ctx.on_query("stage", lambda: "waiting")
    got = [await ctx.wait_signal("item"), await ctx.wait_signal("item")]
    done = await ctx.activity(step_fixed, ledger, 9)
    return [*got, done]


ALL = (three_steps, waits_then_steps, gated_then_step, signals_while_waiting, step, gated)

#: the same app with step 3 fixed (`aion-actors reset --app tests.runtime.ops_flows:FIXED`)
FIXED = (three_steps, waits_then_steps, gated_then_step, signals_while_waiting, step_fixed, gated)
