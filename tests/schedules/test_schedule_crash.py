"""A schedule across an engine SIGKILL and downtime (five scheduled times): every scheduled
time inside the catch-up window fires exactly once, none twice.

It fires every quarter second, so that the kill, the downtime and the catch-up take
seconds, not tens of them: the schedule counts its times in nanoseconds, a second is
no special unit to it."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from aion_actors import AionError, Engine
from aion_actors.store import LmdbStore
from tests.crashes import kill_engine
from tests.schedules import flows
from tests.workers.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
PERIOD = dt.timedelta(milliseconds=250)
SPEC: dict[str, Any] = {"every": PERIOD, "overlap": "allow", "catchup_window": 60}
NAME = "every-quarter-second"
PREFIX = f"{NAME}-"


def firings(data: Path) -> list[str]:
    """The workflow_id of every run the schedule started (one entry per run)."""
    try:
        with LmdbStore(data, readonly=True) as store:
            return [r.workflow_id for r in store.runs(workflow_type="tick")]
    except AionError:  # the engine has not created the directory yet
        return []


def fired(engine: Engine) -> list[str]:
    return [r.workflow_id for r in engine.store.runs(workflow_type="tick")]


def tick_of(workflow_id: str) -> int:
    """The scheduled time a run's workflow_id names, counted in PERIODs since the epoch."""
    when = dt.datetime.fromisoformat(workflow_id.removeprefix(PREFIX).replace("Z", "+00:00"))
    ticks, rest = divmod(when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC), PERIOD)
    assert not rest, f"{workflow_id} is not a scheduled time"
    return ticks


def tick_at(unix_time: float) -> float:
    return unix_time / PERIOD.total_seconds()


@pytest.mark.timeout(120)
def test_every_time_in_the_catchup_window_fires_once_across_a_kill_and_downtime(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.schedules.schedule_child", str(data)],
        cwd=ROOT,
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: len(firings(data)) >= 3, 60, "three firings before the kill")
    finally:
        kill_engine(child)
    before = firings(data)
    time.sleep(5 * PERIOD.total_seconds())  # the engine is down: five scheduled times pass
    back = tick_at(time.time())

    with Engine.open(data, workers=1) as engine:
        engine.register(*flows.ALL)
        engine.schedule(NAME, flows.tick, ["s"], **SPEC)  # a restart: unchanged
        wait_until(
            lambda: any(tick_of(i) >= back + 2 for i in fired(engine)),
            30,
            "firings after the restart",
        )
        info = engine.get_schedule(NAME).describe()
        runs = fired(engine)
    twice = [i for i, n in Counter(runs).items() if n > 1]
    assert twice == [], f"fired twice: {twice}"
    times = sorted(tick_of(i) for i in runs)
    assert times == list(range(times[0], times[-1] + 1)), "a scheduled time did not fire"
    assert set(before) <= set(runs)
    assert times[-1] - max(tick_of(i) for i in before) >= 7  # the downtime was covered
    assert info.missed == 0 and info.fired >= len(runs) - 1
