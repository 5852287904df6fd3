"""The engine a backup test copies from: `backup_writer DIR` starts runs w0, w1, ...
one after another and prints each workflow_id once its run has completed, until killed."""

from __future__ import annotations

import sys

from aion_actors import Engine, WorkflowContext, activity, workflow


@activity(executor="thread")
def add(value: int) -> int:
    return value + 1


@workflow
async def twice(ctx: WorkflowContext, value: int) -> int:
    return await ctx.activity(add, await ctx.activity(add, value))


def main(path: str) -> None:
    with Engine.open(path, workers=1) as engine:
        engine.register(twice, add)
        i = 0
        while True:
            assert engine.start(twice, i, workflow_id=f"w{i}").result(timeout=60) == i + 2
            print(f"w{i}", flush=True)
            i += 1


if __name__ == "__main__":
    main(sys.argv[1])
