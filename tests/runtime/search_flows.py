"""Workflows that set search attributes and carry a memo, for the search tests."""

from __future__ import annotations

import datetime as dt
import os

from aion_actors import WorkflowContext, activity, workflow
from supervisor import Backoff, RestartPolicy

#: crashes the `tagged` workflow has still to make (in the engine process)
CRASHES: dict[str, int] = {"left": 0}


@activity(executor="thread")
def stamp(ledger: str, text: str) -> str:
    with open(ledger, "a") as f:
        f.write(text + "\n")
        f.flush()
        os.fsync(f.fileno())
    return text


@workflow(
    restart=RestartPolicy(
        max_restarts=3, within_seconds=60, backoff=Backoff(initial=0.01, multiplier=1.0, max=0.01)
    )
)
async def tagged(ctx: WorkflowContext, ledger: str, customer: str) -> str:
    """Sets attributes, runs an activity, crashes if told to, changes them, waits for `go`."""
    ctx.set_attributes({"customer": customer, "priority": 2, "stage": "new"})
    await ctx.activity(stamp, ledger, f"charged {customer}")
    if CRASHES["left"] > 0:
        CRASHES["left"] -= 1
        raise RuntimeError("a bug after the charge")
    when = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    ctx.set_attributes({"stage": "charged", "priority": None, "tags": ["vip", "eu"], "at": when})
    await ctx.wait_signal("go")
    return f"done {customer}"


@workflow
async def relay(ctx: WorkflowContext, left: int) -> int:
    """Continues as new `left` times, setting its round as an attribute each run."""
    ctx.set_attributes({"round": left})
    if left > 0:
        ctx.continue_as_new(left - 1)
    return left


ALL = [stamp, tagged, relay]
