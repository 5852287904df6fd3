"""What a firing does while the run of the previous one is still open (virtual clock).

Every 10 s a run that stays open 24 s: the firings at 20 and 30 overlap the
run fired at 10 (open until 34), and so on.
"""

from __future__ import annotations

import datetime as dt

import pytest

from aion_actors.schedules import ScheduleInfo
from aion_actors.testing import TestEngine
from tests.schedules import flows

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def run_for_75s(overlap: str) -> tuple[dict[str, str], dict[str, dt.datetime], ScheduleInfo]:
    """{fired workflow_id: status}, {workflow_id: started at}, the schedule's counters."""
    with TestEngine(start=START) as engine:
        engine.register(*flows.ALL)
        engine.schedule("o", flows.lingers, [24], every=10, overlap=overlap)  # type: ignore[arg-type]
        engine.clock.advance(dt.timedelta(seconds=75))
        runs = engine.store.runs(workflow_type="lingers")
        started = {
            r.workflow_id: dt.datetime.fromtimestamp(r.started_at / 1e9, dt.UTC) for r in runs
        }
        return {r.workflow_id: r.status.value for r in runs}, started, engine.list_schedules()[0]


def ids(*seconds: int) -> list[str]:
    return [f"o-{(START + dt.timedelta(seconds=s)).isoformat()[:19]}Z" for s in seconds]


def secs(when: dt.datetime) -> int:
    return round((when - START).total_seconds())


@pytest.mark.timeout(60)
def test_skip_fires_only_when_the_previous_run_has_ended_and_counts_the_rest() -> None:
    status, _, info = run_for_75s("skip")
    assert sorted(status) == ids(10, 40, 70)  # 20, 30 overlap the first; 50, 60 the second
    assert (info.fired, info.skipped) == (3, 4)


@pytest.mark.timeout(60)
def test_buffer_one_starts_one_held_firing_when_the_previous_run_ends() -> None:
    status, started, info = run_for_75s("buffer_one")
    # 20 is held until the run of 10 ends at 34 (30 is skipped: one is held already);
    # 40 is held until that one ends at 58 (50 skipped); 60 is held (70 skipped)
    assert sorted(status) == ids(10, 20, 40)
    assert [secs(started[i]) for i in ids(10, 20, 40)] == [10, 34, 58]
    assert (info.fired, info.skipped) == (3, 3)


@pytest.mark.timeout(60)
def test_allow_fires_every_time_whatever_is_open() -> None:
    status, _, info = run_for_75s("allow")
    assert sorted(status) == ids(10, 20, 30, 40, 50, 60, 70)
    assert (info.fired, info.skipped) == (7, 0)


@pytest.mark.timeout(60)
def test_cancel_previous_cancels_the_open_run_and_starts_the_new_one() -> None:
    status, _, info = run_for_75s("cancel_previous")
    assert sorted(status) == ids(10, 20, 30, 40, 50, 60, 70)
    assert [status[i] for i in ids(10, 20, 30, 40, 50, 60)] == ["cancelled"] * 6
    assert status[ids(70)[0]] == "running"
    assert (info.fired, info.skipped) == (7, 0)
