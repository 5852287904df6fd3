"""`catchup_window`, also 0, on the engine's real clock: a timer wakes a little after the
time it was armed for, and a firing on time is not missed for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors import Engine
from aion_actors.schedules import loop
from aion_actors.schedules import state as state_module
from aion_actors.schedules.spec import ScheduleSpec
from aion_actors.schedules.state import ScheduleState
from aion_actors.testing import replay
from tests.schedules import flows
from tests.workers.helpers import wait_until

NS = 1_000_000_000
T = 1_700_000_000 * NS  # a scheduled time (every 10 s)


def state(catchup: float) -> ScheduleState:
    spec = ScheduleSpec.build("s", "tick", ["x"], {"every": 10, "catchup_window": catchup})
    return ScheduleState(spec=spec, cursor=T - 10 * NS)


@pytest.mark.parametrize("late_ms", [0, 3, 250, 900])
def test_a_firing_woken_a_little_late_is_on_time_even_with_a_window_of_0(late_ms: int) -> None:
    s = state(0)
    s.collect_due(T + late_ms * 1_000_000)
    assert (s.pending, s.missed) == ([T], 0)


def test_with_a_window_of_0_a_firing_later_than_that_is_missed() -> None:
    s = state(0)
    s.collect_due(T + 25 * NS)  # down from before T to T + 25 s: T, T + 10, T + 20 missed
    assert (s.pending, s.missed) == ([], 3)
    wide = state(12)
    wide.collect_due(T + 25 * NS)
    assert (wide.pending, wide.missed) == ([T + 20 * NS], 2)  # the window, not the slack


@pytest.mark.timeout(60)
def test_catchup_window_0_fires_every_time_on_a_real_engine(tmp_path: Path) -> None:
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(*flows.ALL)
        schedule = engine.schedule("z", flows.tick, ["z"], every=1, catchup_window=0)
        wait_until(lambda: schedule.describe().fired >= 3, 20, "three firings")
        assert schedule.describe().missed == 0
        schedule.delete()


@pytest.mark.timeout(60)
def test_a_schedule_that_missed_late_wakes_before_the_fix_replays_as_it_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its history says "missed" where the code now fires: the patch keeps its branch."""
    monkeypatch.setattr(state_module, "_LATE_NS", 0)  # the code before: no slack
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(*flows.ALL)
        schedule = engine.schedule("z", flows.tick, ["z"], every=1, catchup_window=0)
        wait_until(lambda: schedule.describe().missed >= 2, 20, "two late wakes")
        assert schedule.describe().fired == 0
        recorded = engine.history("schedule:z")
    monkeypatch.undo()
    [verdict] = replay({"schedule:z": recorded}, loop.DEFINITIONS).runs
    assert verdict.verdict == "ok", verdict
    with Engine.open(tmp_path / "data", workers=1) as engine:  # it goes on, firing now
        engine.register(*flows.ALL)
        # (listed, not `get_schedule`: a schedule run continuing as new is not found)
        wait_until(lambda: [i.fired for i in engine.list_schedules()] >= [2], 20, "firings")
        assert loop.LATE_TIMER in engine.describe("schedule:z").patches
        assert engine.list_schedules()[0].missed >= 2  # (carried over)
