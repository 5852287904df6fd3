"""Workflows that leave a data directory with every kind of run the CLI must show."""

from __future__ import annotations

from aion_actors import WorkflowContext, WorkflowError, activity, workflow
from supervisor import Backoff, RestartPolicy

_crashed: set[str] = set()


@activity(executor="thread")
def greet(name: str) -> str:
    return f"hello {name}"


@workflow
async def hello(ctx: WorkflowContext, name: str) -> str:
    return str(await ctx.activity(greet, name))


def reset() -> None:
    """Let `crash_once` crash again (once per workflow id and store)."""
    _crashed.clear()


@workflow(restart=RestartPolicy(max_restarts=3, within_seconds=60, backoff=Backoff(0.01)))
async def crash_once(ctx: WorkflowContext) -> str:
    await ctx.activity(greet, "crash")
    if ctx.workflow_id not in _crashed:
        _crashed.add(ctx.workflow_id)
        raise RuntimeError("injected crash")
    return "recovered"


@workflow
async def refuse(ctx: WorkflowContext) -> None:
    raise WorkflowError("order rejected")


@workflow
async def awaits_approval(ctx: WorkflowContext) -> str:
    await ctx.activity(greet, "reviewer")
    approval = await ctx.wait_signal("approve", timeout=3600)
    return str(approval)


ALL = (greet, hello, crash_once, refuse, awaits_approval)
