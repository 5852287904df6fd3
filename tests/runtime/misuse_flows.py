"""Workflows that misuse their code: a client call of the engine, a command never awaited."""

from __future__ import annotations

import threading
from typing import Any

from aion_actors import Engine, WorkflowContext, activity, workflow
from aion_actors.aio import AsyncEngine

#: the engine the workflows below call, set by the test
ENGINE: list[Engine] = []
#: the runs that crashed once already (so that the next incarnation replays)
CRASHED: set[str] = set()
#: what the done-callback saw
SEEN: list[Any] = []
DONE = threading.Event()


@workflow
async def inner(ctx: WorkflowContext) -> int:
    return 7


@workflow
async def starts_with_the_engine(ctx: WorkflowContext) -> str:
    ENGINE[0].start(inner)  # misuse: a client call, not ctx.child
    await ctx.sleep(0.05)
    if ctx.workflow_id not in CRASHED:
        CRASHED.add(ctx.workflow_id)
        raise RuntimeError("transient crash")  # restarted: the replay calls it again
    return "ok"


@workflow
async def waits_with_the_engine(ctx: WorkflowContext, workflow_id: str) -> Any:
    return ENGINE[0].result(workflow_id, timeout=1)  # misuse: blocks the run's turn


@workflow
async def signals_with_the_engine(ctx: WorkflowContext, workflow_id: str) -> None:
    ENGINE[0].signal(workflow_id, "go")  # misuse: ctx.external(id).signal


@workflow
async def starts_with_the_async_engine(ctx: WorkflowContext) -> None:
    await AsyncEngine(ENGINE[0]).start(inner)  # misuse: a client call, not ctx.child


@workflow
async def updates_with_the_engine(ctx: WorkflowContext) -> None:
    ctx.on_update("go", lambda workflow_id: ENGINE[0].cancel(workflow_id))
    await ctx.wait_signal("never")


@activity(executor="thread")
def start_inner() -> str:
    return ENGINE[0].start(inner, workflow_id="from-activity").workflow_id


@workflow
async def starts_from_an_activity(ctx: WorkflowContext) -> Any:
    workflow_id = await ctx.activity(start_inner)
    return workflow_id


def then_start(workflow_id: str) -> None:
    """A done-callback (it may run in the closing run's turn) that starts the next run."""
    try:
        SEEN.append(ENGINE[0].start(inner, workflow_id=workflow_id).result(timeout=10))
    except Exception as exc:
        SEEN.append(exc)
    DONE.set()


ALL = (
    inner,
    starts_with_the_engine,
    waits_with_the_engine,
    signals_with_the_engine,
    starts_with_the_async_engine,
    updates_with_the_engine,
    start_inner,
    starts_from_an_activity,
)
