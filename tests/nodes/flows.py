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
    """Logs its start (with the wall clock, ns) and its end; returns which execution
    (process, token) it was."""
    run = f"{os.getpid()}@{uuid.uuid4().hex[:8]}"
    _note(ledger, f"start {name} {run} {time.time_ns()}")
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


@workflow
async def kid(ctx: WorkflowContext, x: int, nap: float) -> int:
    """A child: sleeps (a durable timer), then doubles `x`."""
    await ctx.sleep(nap)
    return x * 2


@workflow
async def relay(ctx: WorkflowContext, x: int) -> int:
    """A child that continues as new once before it answers."""
    if x < 100:
        ctx.continue_as_new(x + 100)
    return x


@workflow
async def parent(ctx: WorkflowContext, child_ids: list[str], nap: float) -> list[int]:
    """Runs one `kid` per id (the first through `ctx.start_child`), plus a `relay`."""
    first = await ctx.start_child(kid, 1, nap, workflow_id=child_ids[0])
    rest = [ctx.child(kid, i + 2, nap, workflow_id=w) for i, w in enumerate(child_ids[1:-1])]
    results = [await first.result(), *(await ctx.gather(*rest))]
    results.append(await ctx.child(relay, 1, workflow_id=child_ids[-1]))
    return results


@workflow
async def keeper(ctx: WorkflowContext, child_id: str) -> str:
    """Starts a `waiter` child (cancelled when this run is) and waits for it."""
    await ctx.child(waiter, 5, workflow_id=child_id)
    return "done"


@workflow
async def teller(ctx: WorkflowContext, target: str, items: list[str]) -> int:
    """Signals `items` to workflow `target` through `ctx.external`, then cancels it."""
    for item in items:
        await ctx.external(target).signal("item", item)
    return len(items)


@workflow
async def counter(ctx: WorkflowContext) -> int:
    """Update "add" adds to a total (and answers it) until signal "stop"."""
    total = [0]

    def add(n: int) -> int:
        total[0] += n
        return total[0]

    ctx.on_update("add", add)
    await ctx.wait_signal("stop")
    return total[0]


@workflow
async def tally(ctx: WorkflowContext, total: int, until: int) -> int:
    """A chain: each run takes "add" updates (answering the new total) or signals, and
    continues as new on the first, until `until`; query "run" names the run answering."""
    added: list[int] = []

    def add(n: int) -> int:
        added.append(n)
        return total + sum(added)

    ctx.on_update("add", add)
    ctx.on_signal("add", add)
    ctx.on_query("run", lambda: ctx.run_id)
    await ctx.wait_condition(lambda: bool(added))
    total += sum(added)
    if total >= until:
        return total
    ctx.continue_as_new(total, until)


@workflow
async def mixed(ctx: WorkflowContext, ledger: str) -> list[object]:
    """The cluster tests' run: an activity, a timer, a "go" signal (its payload
    `<workflow_id>:<attempt>`), a child (`<workflow_id>-kid`), another activity."""
    wid = ctx.workflow_id
    first = await ctx.activity(step, ledger, f"{wid}/a", 0.0)
    await ctx.sleep(0.2)
    go = await ctx.wait_signal("go")
    child = await ctx.child(kid, 3, 0.1, workflow_id=f"{wid}-kid")
    second = await ctx.activity(step, ledger, f"{wid}/b", 0.0)
    return [first.split("@")[0], str(go).split(":")[0], child, second.split("@")[0]]


ALL = (step, chain, waiter, kid, relay, parent, keeper, teller, counter, tally, mixed)
