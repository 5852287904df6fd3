"""Workflows in every state a copy must carry (see `test_copy.py`), and the ledger their
activities write: one line per execution, `<workflow_id> <activity_id> <phase>`, one
`os.write` each to a file opened for appending, so a line outlives a SIGKILL."""

from __future__ import annotations

import os
import threading

from aion_actors import WorkflowContext, WorkflowError, activity, current_attempt, workflow

#: the file the activities append to, and the file whose presence lets `stall` finish
LEDGER = "AION_COPY_LEDGER"
GATE = "AION_COPY_GATE"
#: what `stall` waits on while its gate is shut: nothing ever sets it (no polling)
_never = threading.Event()
#: set when `stall` has started in this process (its engine runs activities in threads)
STALLED = threading.Event()


def _note(phase: str) -> None:
    info = current_attempt()
    fd = os.open(os.environ[LEDGER], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{info.workflow_id} {info.activity_id} {phase}\n".encode())
    finally:
        os.close(fd)


@activity(executor="thread")
def record(value: int) -> int:
    _note("done")
    return value + 1


@activity(executor="thread")
def stall(value: int) -> int:
    """Starts, and finishes only where the gate file exists (the engine it ran in first
    is killed meanwhile)."""
    _note("started")
    STALLED.set()
    if not os.path.exists(os.environ[GATE]):
        _never.wait()
    _note("done")
    return value * 10


@workflow
async def done(ctx: WorkflowContext, customer: str) -> int:
    ctx.set_attributes({"customer": customer})
    return await ctx.activity(record, 1)


@workflow
async def fails(ctx: WorkflowContext) -> None:
    await ctx.activity(record, 2)
    raise WorkflowError("failed on purpose")


@workflow
async def sleeps(ctx: WorkflowContext, seconds: float) -> int:
    ctx.set_attributes({"customer": "c-timer"})
    first = await ctx.activity(record, 3)
    await ctx.sleep(seconds)
    return await ctx.activity(record, first)


@workflow
async def waits(ctx: WorkflowContext, customer: str) -> str:
    ctx.set_attributes({"customer": customer})
    await ctx.activity(record, 4)
    return str(await ctx.wait_signal("go"))


@workflow
async def in_flight(ctx: WorkflowContext) -> int:
    first = await ctx.activity(record, 5)
    return await ctx.activity(stall, first)


@workflow
async def parent(ctx: WorkflowContext, child_id: str, wait: bool) -> str:
    ctx.set_attributes({"customer": "c-family"})
    got = await ctx.child(child if wait else quick_child, workflow_id=child_id)
    return f"child said {got}"


@workflow
async def child(ctx: WorkflowContext) -> str:
    return str(await ctx.wait_signal("go"))


@workflow
async def quick_child(ctx: WorkflowContext) -> str:
    return "at once"


@workflow
async def tick(ctx: WorkflowContext) -> str:
    return "tick"


ALL = [record, stall, done, fails, sleeps, waits, in_flight, parent, child, quick_child, tick]
