"""Workflows the node tests run: activities that log each execution (and the process that
ran it) to a ledger file, with a durable timer between them."""

from __future__ import annotations

import os
import time
import uuid

from aion_actors import WorkflowContext, activity, workflow


def _note(ledger: str, line: str) -> None:
    with open(ledger, "a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


@activity(executor="thread")
def step(ledger: str, name: str, seconds: float) -> str:
    """Logs its start and its end; returns which execution (process, token) it was."""
    run = f"{os.getpid()}@{uuid.uuid4().hex[:8]}"
    _note(ledger, f"start {name} {run}")
    time.sleep(seconds)
    _note(ledger, f"done {name} {run}")
    return f"{name}@{run}"


@workflow
async def chain(ctx: WorkflowContext, ledger: str, seconds: float, nap: float) -> list[str]:
    """Two activities with a durable timer between them."""
    wid = ctx.workflow_id
    first = await ctx.activity(step, ledger, f"{wid}/a", seconds)
    await ctx.sleep(nap)
    second = await ctx.activity(step, ledger, f"{wid}/b", seconds)
    return [first, second]


@workflow
async def waiter(ctx: WorkflowContext, count: int) -> list[str]:
    """Collects `count` "item" signals (answering query "items" meanwhile), then returns them."""
    items: list[str] = []
    ctx.on_query("items", lambda: list(items))
    while len(items) < count:
        items.append(await ctx.wait_signal("item"))
    return items


ALL = (step, chain, waiter)
