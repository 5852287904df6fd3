"""Workflows and activities whose settings the config tests set from a file, a decorator, a call."""

from __future__ import annotations

from aion_actors import RetryPolicy, WorkflowContext, activity, current_attempt, workflow
from supervisor import RestartPolicy

EXIT_AT_ONCE = RestartPolicy(max_restarts=0, within_seconds=60, on_exhausted="fail")


@workflow
async def crashes(ctx: WorkflowContext) -> None:
    """No restart policy of its own: the file's applies."""
    raise RuntimeError("always broken")


@workflow(restart=EXIT_AT_ONCE)
async def crashes_decorated(ctx: WorkflowContext) -> None:
    raise RuntimeError("always broken")


@activity(executor="thread")
def flaky() -> int:
    """Fails its first attempt: it succeeds only when allowed a retry."""
    attempt = current_attempt().attempt
    if attempt == 1:
        raise RuntimeError("first attempt fails")
    return attempt


@activity(executor="thread", retry=RetryPolicy(max_attempts=2, initial=0.01))
def flaky_decorated() -> int:
    attempt = current_attempt().attempt
    if attempt == 1:
        raise RuntimeError("first attempt fails")
    return attempt


@workflow
async def calls_flaky(ctx: WorkflowContext) -> int:
    return int(await ctx.activity(flaky))


@workflow
async def calls_flaky_decorated(ctx: WorkflowContext) -> int:
    return int(await ctx.activity(flaky_decorated))


@workflow
async def echo(ctx: WorkflowContext, value: str) -> str:
    return value
