"""Workflows for the workflow-timeout tests (importable by the engine subprocess of the crash test).

`python -m tests.runtime.timeout_flows DATA_DIR RUN_TIMEOUT` starts `sleeps_forever`
as `"bounded"` with that run_timeout (seconds), then waits to be killed.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from aion_actors import (
    Cancelled,
    ChildWorkflowError,
    Engine,
    WorkflowContext,
    activity,
    workflow,
)


@activity(executor="thread")
def slow_note(ledger: str, seconds: float) -> str:
    time.sleep(seconds)
    with open(ledger, "a") as f:
        f.write("slow note done\n")
    return "done"


@workflow
async def sleeps_forever(ctx: WorkflowContext, ledger: str = "") -> str:
    try:
        await ctx.wait_signal("never")
    except Cancelled:
        if ledger:
            with open(ledger, "a") as f:  # not an activity: the test only needs to see it ran
                f.write("cancelled\n")
        raise
    return "woken"


@workflow
async def hops(ctx: WorkflowContext, hop: int) -> int:
    """Continues as new every 0.2 s, for ever: only an execution_timeout ends it."""
    await ctx.sleep(0.2)
    ctx.continue_as_new(hop + 1)


@workflow
async def finishes_in_hops(ctx: WorkflowContext, hop: int, last: int, nap: float) -> int:
    """Continues as new every `nap` seconds until `last`: each run is short, the chain long."""
    await ctx.sleep(nap)
    if hop == last:
        return hop
    ctx.continue_as_new(hop + 1, last, nap)


@workflow
async def runs_slow_activity(ctx: WorkflowContext, ledger: str, seconds: float) -> str:
    return str(await ctx.activity(slow_note, ledger, seconds))


@workflow
async def awaits_bounded_child(ctx: WorkflowContext, run_timeout: float) -> dict[str, Any]:
    try:
        await ctx.child(sleeps_forever, workflow_id="kid", run_timeout=run_timeout)
    except ChildWorkflowError as exc:
        return {"child": exc.workflow_id, "error": exc.error}
    return {}


@workflow
async def awaits_hopping_child(ctx: WorkflowContext, execution_timeout: float) -> dict[str, Any]:
    try:
        await ctx.child(hops, 0, workflow_id="hopper", execution_timeout=execution_timeout)
    except ChildWorkflowError as exc:
        return {"child": exc.workflow_id, "error": exc.error}
    return {}


@workflow
async def bad_child_timeout(ctx: WorkflowContext) -> str:
    try:
        await ctx.child(sleeps_forever, run_timeout=0)
    except ValueError as exc:
        return str(exc)
    return "started"


@workflow
async def parent_of_sleepers(ctx: WorkflowContext, ledger: str) -> str:
    await ctx.gather(
        ctx.child(sleeps_forever, ledger, workflow_id="kept"),
        ctx.child(sleeps_forever, workflow_id="left", on_parent_close="abandon"),
    )
    return "unreachable"


ALL = (
    slow_note,
    sleeps_forever,
    hops,
    finishes_in_hops,
    runs_slow_activity,
    awaits_bounded_child,
    awaits_hopping_child,
    bad_child_timeout,
    parent_of_sleepers,
)


def main() -> None:
    data_dir, run_timeout = sys.argv[1], float(sys.argv[2])
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*ALL)
        engine.start(sleeps_forever, workflow_id="bounded", run_timeout=run_timeout)
        time.sleep(60)


if __name__ == "__main__":
    main()
