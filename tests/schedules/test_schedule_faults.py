"""Schedules whose workflow cannot run as declared: a workflow not registered and
arguments that do not fit its signature are refused at once; a firing that cannot start
(the workflow changed since) is counted failed without holding up the firings after it;
one that waits for its workflow to be registered (gone from the code after a restart)
holds up no management call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors import ConfigError, Engine, WorkflowContext, workflow
from aion_actors.schedules import ScheduleNotFound
from aion_actors.store import LmdbStore
from aion_actors.testing import TestEngine
from tests.schedules import flows
from tests.workers.helpers import wait_until

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
pytestmark = pytest.mark.timeout(60)


@workflow(name="tick")
async def tick_with_two(ctx: WorkflowContext, label: str, extra: int) -> str:
    """`tick`, changed to take one more argument than the schedule gives it."""
    return f"{label} {extra}"


@workflow
async def tock(ctx: WorkflowContext, label: str) -> str:
    """What `tick` became after a rename."""
    return f"tock {label}"


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


def test_a_workflow_not_registered_is_refused_naming_the_closest_one(engine: TestEngine) -> None:
    with pytest.raises(ConfigError, match=r"schedule 'u': workflow type 'tikc' is not registered"):
        engine.schedule("u", "tikc", ["x"], every=60)
    with pytest.raises(ConfigError, match=r"did you mean 'tick'\?"):
        engine.schedule("u", "tikc", ["x"], every=60)
    assert engine.list_schedules() == []
    with pytest.raises(ScheduleNotFound):
        engine.get_schedule("u")
    engine.schedule("u", tock, ["x"], every=60)  # a definition not registered yet: it is now
    engine.clock.advance(dt.timedelta(minutes=1))
    assert engine.get_schedule("u").describe().fired == 1


def _gone_after_a_restart(tmp_path: Path) -> TestEngine:
    """A schedule of `tick`, then an engine on its store whose code has no `tick` (renamed
    `tock`): the next firing waits for `tick` to be registered."""
    with TestEngine(start=START, store=LmdbStore(tmp_path)) as engine:
        engine.register(*flows.ALL)
        engine.schedule("u", flows.tick, ["x"], every=60)
    engine = TestEngine(start=START + dt.timedelta(seconds=30), store=LmdbStore(tmp_path))
    engine.register(tock)
    engine.clock.advance(dt.timedelta(minutes=1))
    assert "'tick'" in (engine.describe("schedule:u").waiting_for or "")
    return engine


@pytest.mark.parametrize("verb", ["update", "pause", "delete"])
def test_a_firing_waiting_for_its_workflow_holds_up_no_management_call(
    tmp_path: Path, verb: str
) -> None:
    with _gone_after_a_restart(tmp_path) as engine:
        schedule = engine.get_schedule("u")
        if verb == "update":  # fixed: it fires the new workflow from the next time on
            engine.schedule("u", tock, ["x"], every=60)
            engine.clock.advance(dt.timedelta(minutes=2))
            info = schedule.describe()
            assert (info.workflow, info.fired, info.last_run) == (
                "tock",
                2,
                "u-2024-01-01T00:03:00Z",
            )
            assert engine.result(info.last_run, timeout=10) == "tock x"
        elif verb == "pause":
            schedule.pause()
            assert schedule.describe().paused and schedule.describe().next_fire is None
            engine.clock.advance(dt.timedelta(minutes=3))
            assert engine.list_runs(parent="schedule:u") == []
        else:
            schedule.delete()
            assert engine.list_schedules() == []
            with pytest.raises(ScheduleNotFound):
                engine.get_schedule("u")
            assert engine.describe("schedule:u").status.value == "completed"
            engine.schedule("u", tock, ["again"], every=60)  # the name is free again
            engine.clock.advance(dt.timedelta(minutes=1))
            assert engine.get_schedule("u").describe().fired == 1


def test_on_a_real_engine_a_schedule_whose_workflow_is_gone_can_be_fixed_then_deleted(
    tmp_path: Path,
) -> None:
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(*flows.ALL)
        engine.schedule("u", flows.tick, ["x"], every=1)
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(tock)  # `tick` is gone from the code
        waiting = lambda: "'tick'" in (engine.describe("schedule:u").waiting_for or "")  # noqa: E731
        wait_until(waiting, 20, "a firing to wait for 'tick'")
        engine.schedule("u", tock, ["x"], every=1)
        assert engine.get_schedule("u").describe().workflow == "tock"
        wait_until(lambda: engine.get_schedule("u").describe().fired >= 1, 20, "tock to fire")
        engine.get_schedule("u").delete()
        assert engine.list_schedules() == []
