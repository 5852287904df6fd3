"""Workflows for the start-policy and queue tests.

`held` waits for signal "go" (a test keeps it running); `quick` returns at once;
`fails` fails. Each notes its start in a ledger file when given one, so a test
counts which runs ran their code.
"""

from __future__ import annotations

import time
from pathlib import Path

from aion_actors import Queue, RetryPolicy, WorkflowContext, activity, workflow


@activity(executor="thread", retry=RetryPolicy(max_attempts=1))
def note(ledger: str, text: str) -> None:
    with open(ledger, "a") as f:
        f.write(text + "\n")


def noted(ledger: str | Path) -> list[str]:
    path = Path(ledger)
    return path.read_text().splitlines() if path.exists() else []


@workflow
async def held(ctx: WorkflowContext, ledger: str | None = None) -> str:
    if ledger is not None:
        await ctx.activity(note, ledger, ctx.workflow_id)
    return str(await ctx.wait_signal("go"))


@activity(executor="thread", retry=RetryPolicy(max_attempts=3))
def paced_step(ledger: str, text: str) -> None:
    time.sleep(0.02)
    with open(ledger, "a") as f:
        f.write(text + "\n")


@workflow
async def paced(ctx: WorkflowContext, ledger: str) -> str:
    await ctx.activity(paced_step, ledger, ctx.workflow_id)
    return ctx.workflow_id


#: the queue `paced` runs go through in the kill test (queue_child.py)
PACED_QUEUE = Queue("paced", concurrency=3)
#: the queue `paced` runs go through in the rate kill test (rate_child.py): 10 per 5 s
RATED_QUEUE = Queue("rated", rate=(10, 5.0))


@workflow
async def quick(ctx: WorkflowContext, value: int = 0) -> int:
    return value


@workflow
async def fails(ctx: WorkflowContext) -> None:
    raise ValueError("fails on purpose")


ALL = (held, quick, fails, note, paced, paced_step)
