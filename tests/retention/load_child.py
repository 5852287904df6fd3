"""An engine under load whose pruner deletes runs as fast as they close: `DIR` (a data
directory or a postgresql:// URL).

Prints `open ID` once an open run's start is committed (it must survive any
kill), `closed ID` once a prunable run has ended and `pruned ID` for each run
the pruner deleted. Deletions go `CHUNK` = 4 events per transaction, so a
kill (AION_FAULTS=prune.middle:N, or the test's SIGKILL) finds runs half-deleted.
"""

from __future__ import annotations

import itertools
import sys

from aion_actors import Engine, WorkflowContext, activity, workflow
from aion_actors.config import Config
from aion_actors.store import _lmdb_prune
from aion_actors.store.postgres import _prune as _pg_prune

CONFIG = Config.parse("[retention.chatty]\nkeep = 0.05\n")


@activity(executor="thread")
def step(n: int) -> int:
    return n + 1


@workflow
async def chatty(ctx: WorkflowContext, steps: int) -> int:
    value = 0
    for _ in range(steps):
        value = int(await ctx.activity(step, value))
    return value


@workflow
async def holder(ctx: WorkflowContext) -> None:
    await ctx.wait_signal("never")


def main(data: str) -> None:
    _lmdb_prune.CHUNK = 4  # type: ignore[misc]  # (this process only: many transactions per run)
    _pg_prune.CHUNK = 4  # type: ignore[misc]
    with Engine.open(data, workers=1, durability="nosync", config=CONFIG) as engine:
        engine.register(chatty, holder, step)
        engine._pruner.when_pruned(  # noqa: SLF001 - the test's hook on the pruner
            lambda run: print("pruned", run.workflow_id, flush=True)
        )
        for i in itertools.count():
            engine.start(holder, workflow_id=f"open-{i}")
            print("open", f"open-{i}", flush=True)
            handles = [engine.start(chatty, 5, workflow_id=f"chatty-{i}-{k}") for k in range(4)]
            for handle in handles:
                handle.result(timeout=60)
                print("closed", handle.workflow_id, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
