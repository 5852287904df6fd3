"""The runs the `copy` scenario moves: `fill(DIR, runs)` has an engine run `runs` runs of a
three-activity workflow (thread executor) with a search attribute; one in ten then waits
on an hour's timer, so the copy carries open runs and their timers too."""

from __future__ import annotations

from pathlib import Path

from aion_actors import Engine, WorkflowContext, activity, workflow

#: runs started per `start_many`
_WAVE = 1000


@activity(executor="thread")
def step(value: int) -> int:
    return value + 1


@workflow
async def moved(ctx: WorkflowContext, value: int) -> int:
    ctx.set_attributes({"customer": f"c-{value % 100}"})
    for _ in range(3):
        value = await ctx.activity(step, value)
    if value % 10 == 3:
        await ctx.sleep(3600)
    return value


def fill(data: Path, runs: int) -> None:
    """`runs` runs in the data directory `data`: nine in ten completed, one open."""
    with Engine.open(data, workers=1) as engine:
        engine.register(moved, step)
        for first in range(0, runs, _WAVE):
            numbers = range(first, min(first + _WAVE, runs))
            handles = engine.start_many(
                moved, [(i,) for i in numbers], workflow_ids=[f"m{i}" for i in numbers]
            )
            for i, handle in zip(numbers, handles, strict=True):
                if i % 10 != 0:  # (i + 3) % 10 == 3: the run that sleeps
                    handle.result(timeout=120)
