"""Workflows and activities the engine-level worker tests register."""

from __future__ import annotations

from typing import Any

from aion_actors import RetryPolicy, WorkflowContext, activity, workflow

#: several attempts, quickly: a test sees whether a failure is retried
QUICK_RETRIES = RetryPolicy(max_attempts=3, initial=0.01, max_interval=0.01)


@activity(retry=QUICK_RETRIES)
def double(x: int) -> int:
    return x * 2


@workflow
async def call(ctx: WorkflowContext, name: str, *args: Any) -> Any:
    """Run the activity registered as `name` with `args` and return its result."""
    return await ctx.activity(name, *args)
