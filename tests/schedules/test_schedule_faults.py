"""Schedules whose workflow cannot run as declared: arguments that do not fit its
signature are refused at once, and a firing that cannot start (the workflow changed
since) is counted failed without holding up the firings after it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from aion_actors import WorkflowContext, workflow
from aion_actors.testing import TestEngine
from tests.schedules import flows

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
pytestmark = pytest.mark.timeout(60)


@workflow(name="tick")
async def tick_with_two(ctx: WorkflowContext, label: str, extra: int) -> str:
    """`tick`, changed to take one more argument than the schedule gives it."""
    return f"{label} {extra}"


@pytest.fixture
def engine() -> Iterator[TestEngine]:
    with TestEngine(start=START) as engine:
        engine.register(*flows.ALL)
        yield engine


def test_args_that_do_not_fit_the_workflow_are_refused_at_once(engine: TestEngine) -> None:
    with pytest.raises(TypeError, match=r"workflow 'tick' cannot be called with 3 arguments"):
        engine.schedule("v", flows.tick, [1, 2, 3], every=60)
    with pytest.raises(TypeError, match=r"tick\(ctx, label\)"):
        engine.schedule("v", "tick", [], every=60)
    assert engine.list_schedules() == []
    engine.schedule("v", "tick", ["fine"], every=60)  # (by name too)
    with pytest.raises(TypeError, match="cannot be called with 0 arguments"):
        engine.schedule("v", "tick", [], every=60)  # an update is checked as well
    assert engine.get_schedule("v").describe().workflow == "tick"


@pytest.mark.parametrize("overlap", ["skip", "buffer_one", "allow"])
def test_a_firing_that_cannot_start_is_counted_failed_and_blocks_no_later_one(
    engine: TestEngine, overlap: str
) -> None:
    schedule = engine.schedule("v", flows.tick, ["x"], every=60, overlap=overlap)  # type: ignore[arg-type]
    engine.register(tick_with_two, replace=True)  # the code changed; the schedule did not
    engine.clock.advance(dt.timedelta(minutes=3, seconds=30))
    info = schedule.describe()
    assert (info.fired, info.failed, info.skipped, info.last_run) == (0, 3, 0, None)
    assert engine.list_runs(parent="schedule:v") == []
    engine.register(flows.tick, replace=True)  # fixed: the next firing starts its run
    engine.clock.advance(dt.timedelta(minutes=1))
    info = schedule.describe()
    assert (info.fired, info.failed, info.last_run) == (1, 3, "v-2024-01-01T00:04:00Z")
    assert engine.result(info.last_run, timeout=10) == "x v-2024-01-01T00:04:00Z"
