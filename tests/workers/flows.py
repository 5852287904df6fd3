"""Workflows and activities the engine-level worker tests register."""

from __future__ import annotations

from typing import Any

from aion_actors import RetryPolicy, WorkflowContext, activity, workflow
from tests.workers import activities, async_activities

#: several attempts, quickly: a test sees whether a failure is retried
QUICK_RETRIES = RetryPolicy(max_attempts=3, initial=0.01, max_interval=0.01)


#: a retry, quickly: a test sees the failure recorded twice and then the activity's
TWO_ATTEMPTS = RetryPolicy(max_attempts=2, initial=0.01, max_interval=0.01)


@activity(retry=QUICK_RETRIES)
def double(x: int) -> int:
    return x * 2


@workflow
async def call(ctx: WorkflowContext, name: str, *args: Any) -> Any:
    """Run the activity registered as `name` with `args` and return its result."""
    return await ctx.activity(name, *args)


#: `activities.raise_odd` on the thread executor, from a plain function and from a coroutine
odd_on_thread = activity(executor="thread", name="odd", retry=TWO_ATTEMPTS)(activities.raise_odd)
odd_async_on_thread = activity(executor="thread", name="odd_async", retry=TWO_ATTEMPTS)(
    async_activities.raise_odd
)
echo_on_thread = activity(executor="thread", name="echo")(activities.echo)
echo_async_on_thread = activity(executor="thread", name="echo_async")(async_activities.echo)
