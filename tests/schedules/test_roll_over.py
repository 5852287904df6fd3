"""A schedule continues as new every `_ROLL_OVER` firings; while it rolls over (its run
closed, the next one being started) it still exists for every caller."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from aion_actors import Engine, WorkflowStatus
from aion_actors.schedules import ScheduleNotFound, loop
from tests.schedules import flows


@pytest.mark.timeout(60)
def test_a_schedule_rolling_over_is_found_by_describe_and_list_throughout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loop, "_ROLL_OVER", 1)  # a roll-over after every firing
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(flows.tick)
        engine.schedule("t", flows.tick, ["x"], every=dt.timedelta(milliseconds=50))
        missing, listed_without, calls = 0, 0, 0
        rolled = lambda: sum(  # noqa: E731
            run.status is WorkflowStatus.CONTINUED_AS_NEW
            for run in engine.list_runs(workflow_type="aion.schedule")
        )
        deadline = time.monotonic() + 30
        while rolled() < 10 and time.monotonic() < deadline:  # (the test's own loop)
            calls += 1
            try:
                engine.get_schedule("t").describe()
            except ScheduleNotFound:
                missing += 1
            listed_without += not any(i.name == "t" for i in engine.list_schedules())
        assert rolled() >= 10, "the schedule did not roll over"
        assert (missing, listed_without) == (0, 0), f"of {calls} calls"  # (before: ~11 %)
