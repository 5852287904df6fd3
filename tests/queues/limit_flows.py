"""Activities with limits, for `test_activity_limits.py`.

Each notes `start <id> <ns>` and `end <id> <ns>` lines in a ledger file (appends of one
short line each, so lines from several processes do not mix), so a test reads back
how many calls overlapped and when they started.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from aion_actors import RetryPolicy, WorkflowContext, activity, workflow


def _note(ledger: str, what: str, call: str) -> None:
    fd = os.open(ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{what} {call} {time.time_ns()}\n".encode())
    finally:
        os.close(fd)


def calls(ledger: str | Path) -> dict[str, list[tuple[str, int]]]:
    """What the ledger says: `start`/`end` -> [(call, ns)] in order."""
    path = Path(ledger)
    noted: dict[str, list[tuple[str, int]]] = {"start": [], "end": []}
    for line in path.read_text().splitlines() if path.exists() else []:
        what, call, at = line.split()
        noted[what].append((call, int(at)))
    return noted


def spans(ledger: str | Path) -> list[tuple[int, int]]:
    noted = calls(ledger)
    ends = dict(noted["end"])
    return [(at, ends[call]) for call, at in noted["start"] if call in ends]


@activity(concurrency=5, retry=RetryPolicy(max_attempts=1))
def fragile(ledger: str, call: str) -> str:
    """On the process executor: at most 5 calls at once across the engine's runs."""
    _note(ledger, "start", call)
    time.sleep(0.2)
    _note(ledger, "end", call)
    return call


@activity(executor="thread", rate=(5, 1.0), retry=RetryPolicy(max_attempts=1))
def metered(ledger: str, call: str) -> str:
    """At most 5 calls started in any second."""
    _note(ledger, "start", call)
    _note(ledger, "end", call)
    return call


@activity(executor="thread", rate=(2, 8.0), retry=RetryPolicy(max_attempts=1))
def sparse(ledger: str, call: str) -> str:
    """At most 2 calls started in any 8 seconds (long enough to outlast a restart)."""
    _note(ledger, "start", call)
    _note(ledger, "end", call)
    return call


@activity(executor="thread", concurrency=1, timeout=0.5, retry=RetryPolicy(max_attempts=1))
def single(ledger: str, call: str, seconds: float) -> str:
    """One call at a time; each attempt has 0.5 s from its own start (start-to-close)."""
    _note(ledger, "start", call)
    time.sleep(seconds)
    _note(ledger, "end", call)
    return call


@workflow
async def fan_out(ctx: WorkflowContext, ledger: str, count: int) -> list[str]:
    return list(
        await ctx.gather(
            *[ctx.activity(fragile, ledger, f"{ctx.workflow_id}-{i}") for i in range(count)]
        )
    )


@workflow
async def metered_calls(ctx: WorkflowContext, ledger: str, count: int) -> list[str]:
    return list(
        await ctx.gather(
            *[ctx.activity(metered, ledger, f"{ctx.workflow_id}-{i}") for i in range(count)]
        )
    )


@workflow
async def sparse_calls(ctx: WorkflowContext, ledger: str, count: int) -> list[str]:
    return list(
        await ctx.gather(
            *[ctx.activity(sparse, ledger, f"{ctx.workflow_id}-{i}") for i in range(count)]
        )
    )


@workflow
async def single_call(
    ctx: WorkflowContext, ledger: str, seconds: float, deadline: float | None = None
) -> str:
    return str(await ctx.activity(single, ledger, ctx.workflow_id, seconds, timeout=deadline))


ALL = (fragile, metered, sparse, single, fan_out, metered_calls, sparse_calls, single_call)
