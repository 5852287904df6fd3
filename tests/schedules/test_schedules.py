"""Schedules on the virtual clock: intervals, cron across DST, management, catch-up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors import ConfigError, Engine
from aion_actors.schedules import ScheduleNotFound
from aion_actors.store import LmdbStore
from aion_actors.testing import TestEngine
from tests.schedules import flows

UTC = dt.UTC
START = dt.datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def engine() -> Iterator[TestEngine]:
    with TestEngine(start=START) as engine:
        engine.register(*flows.ALL)
        yield engine


def fired(engine: Engine, workflow_type: str = "tick") -> list[str]:
    return sorted(r.workflow_id for r in engine.store.runs(workflow_type=workflow_type))


def at(*seconds: int, name: str = "t") -> list[str]:
    return [f"{name}-{(START + dt.timedelta(seconds=s)).isoformat()[:19]}Z" for s in seconds]


@pytest.mark.timeout(60)
def test_every_fires_once_per_interval_named_by_the_scheduled_time(engine: TestEngine) -> None:
    engine.schedule("t", flows.tick, ["x"], every=dt.timedelta(seconds=10))
    engine.clock.advance(dt.timedelta(seconds=45))
    assert fired(engine) == at(10, 20, 30, 40)
    [info] = engine.list_schedules()
    assert (info.name, info.spec, info.fired, info.paused) == ("t", "every 10s", 4, False)
    assert info.next_fire == START + dt.timedelta(seconds=50)
    assert info.last_run == at(40)[0]


@pytest.mark.timeout(60)
def test_cron_in_a_time_zone_keeps_local_time_across_dst_changes() -> None:
    spring = dt.datetime(2024, 3, 29, 12, tzinfo=UTC)  # Berlin moves to +02:00 on 31 March
    with TestEngine(start=spring) as engine:
        engine.register(*flows.ALL)
        engine.schedule("r", flows.tick, ["r"], cron="0 9 * * *", timezone="Europe/Berlin")
        engine.clock.advance(dt.timedelta(days=3, hours=1))
        assert fired(engine) == [
            "r-2024-03-30T08:00:00Z",  # 09:00 CET
            "r-2024-03-31T07:00:00Z",  # 09:00 CEST: 23 hours later
            "r-2024-04-01T07:00:00Z",
        ]
    autumn = dt.datetime(2024, 10, 25, 12, tzinfo=UTC)  # back to +01:00 on 27 October
    with TestEngine(start=autumn) as engine:
        engine.register(*flows.ALL)
        engine.schedule("r", flows.tick, ["r"], cron="0 9 * * *", timezone="Europe/Berlin")
        engine.clock.advance(dt.timedelta(days=3, hours=1))
        assert fired(engine) == [
            "r-2024-10-26T07:00:00Z",
            "r-2024-10-27T08:00:00Z",  # 25 hours later
            "r-2024-10-28T08:00:00Z",
        ]


@pytest.mark.timeout(60)
def test_the_same_spec_again_records_nothing_and_another_spec_updates(
    engine: TestEngine,
) -> None:
    handle = engine.schedule("t", flows.tick, ["x"], every=10)
    engine.clock.advance(dt.timedelta(seconds=15))
    head = len(engine.history("schedule:t"))
    again = engine.schedule("t", flows.tick, ["x"], every=10.0)
    assert again.name == handle.name and len(engine.history("schedule:t")) == head
    engine.schedule("t", flows.tick, ["y"], every=dt.timedelta(seconds=30))
    assert engine.get_schedule("t").describe().spec == "every 30s"
    engine.clock.advance(dt.timedelta(seconds=60))
    assert fired(engine) == at(10, 30, 60)
    assert next(e for e in engine.history(at(60)[0]) if e.kind == "WorkflowStarted").input == ["y"]


@pytest.mark.timeout(60)
def test_pause_fires_nothing_and_unpause_goes_on_from_the_next_time(engine: TestEngine) -> None:
    handle = engine.schedule("t", flows.tick, ["x"], every=10)
    engine.clock.advance(dt.timedelta(seconds=15))
    handle.pause()
    assert engine.list_schedules()[0].paused and engine.list_schedules()[0].next_fire is None
    engine.clock.advance(dt.timedelta(seconds=40))  # 20..50 pass while paused
    assert fired(engine) == at(10)
    handle.unpause()
    engine.clock.advance(dt.timedelta(seconds=10))
    assert fired(engine) == at(10, 60)
    assert engine.get_schedule("t").describe().missed == 0


@pytest.mark.timeout(60)
def test_trigger_now_starts_a_run_at_once_and_delete_ends_the_schedule(
    engine: TestEngine,
) -> None:
    handle = engine.schedule("t", flows.tick, ["x"], every=dt.timedelta(hours=1))
    engine.clock.advance(dt.timedelta(seconds=5))
    run = handle.trigger_now()
    handle.delete()  # first: waiting for a result lets the virtual clock jump to a firing
    assert run.workflow_id == at(5)[0] and run.result(timeout=10) == f"x {at(5)[0]}"
    assert engine.list_schedules() == []
    with pytest.raises(ScheduleNotFound, match="'t' not found"):
        engine.get_schedule("t")
    with pytest.raises(ScheduleNotFound):
        handle.pause()
    engine.clock.advance(dt.timedelta(hours=2))
    assert fired(engine) == at(5)
    assert engine.describe("schedule:t").status.value == "completed"
    engine.schedule("t", flows.tick, ["x"], every=dt.timedelta(hours=1))  # made again
    assert engine.get_schedule("t").describe().fired == 0


@pytest.mark.timeout(60)
def test_after_downtime_the_times_inside_the_catchup_window_fire_once_oldest_first(
    tmp_path: Path,
) -> None:
    with TestEngine(start=START, store=LmdbStore(tmp_path)) as engine:
        engine.register(*flows.ALL)
        engine.schedule("t", flows.tick, ["x"], every=10, overlap="allow", catchup_window=35)
        engine.clock.advance(dt.timedelta(seconds=25))
    assert_fired = at(10, 20)
    back = START + dt.timedelta(seconds=125)  # down from 25 s to 125 s
    with TestEngine(start=back, store=LmdbStore(tmp_path)) as engine:
        engine.register(*flows.ALL)
        engine.clock.advance(dt.timedelta(seconds=1))
        # 30..80 are older than 35 s: missed; 90..120 fire, oldest first
        assert fired(engine) == assert_fired + at(90, 100, 110, 120)
        starts = sorted(engine.store.runs(workflow_type="tick"), key=lambda r: r.started_at)
        assert [r.workflow_id for r in starts][2:] == at(90, 100, 110, 120)
        info = engine.get_schedule("t").describe()
        assert (info.fired, info.missed) == (6, 6)


def test_bad_specs_are_refused_naming_the_option() -> None:
    with TestEngine(start=START) as engine:
        with pytest.raises(ConfigError, match=r"exactly one of cron= .* or every="):
            engine.schedule("t", flows.tick, ["x"])
        with pytest.raises(ConfigError, match="exactly one of"):
            engine.schedule("t", flows.tick, ["x"], cron="* * * * *", every=5)
        with pytest.raises(ConfigError, match="not a cron expression"):
            engine.schedule("t", flows.tick, ["x"], cron="every day")
        with pytest.raises(
            ConfigError, match=r"'61 \* \* \* \*' is not a cron .* \(out of range\)"
        ):
            engine.schedule("t", flows.tick, ["x"], cron="61 * * * *")  # (five fields: says why)
        with pytest.raises(ConfigError, match="'Mars/Olympus' is not a known IANA zone"):
            engine.schedule("t", flows.tick, ["x"], cron="0 2 * * *", timezone="Mars/Olympus")
        with pytest.raises(ConfigError, match="timezone= applies to cron= only"):
            engine.schedule("t", flows.tick, ["x"], every=5, timezone="UTC")
        with pytest.raises(ConfigError, match="overlap must be one of skip, buffer_one"):
            engine.schedule("t", flows.tick, ["x"], every=5, overlap="queue")  # type: ignore[typeddict-item]
        with pytest.raises(ConfigError, match="every must be > 0"):
            engine.schedule("t", flows.tick, ["x"], every=0)
        with pytest.raises(TypeError, match="args must be a list or tuple"):
            engine.schedule("t", flows.tick, "x", every=5)
        assert engine.list_schedules() == []


@pytest.mark.parametrize(
    "option", [{"every": float("inf")}, {"every": 1e15}, {"every": 5, "catchup_window": 1e15}]
)
def test_a_period_past_a_century_is_a_config_error_naming_the_option_and_its_range(
    option: dict[str, float],
) -> None:
    what = "catchup_window" if "catchup_window" in option else "every"
    with TestEngine(start=START) as engine:
        with pytest.raises(ConfigError, match=rf"schedule 'a': {what} must be .* at most \d+ s"):
            engine.schedule("a", flows.tick, ["x"], **option)  # type: ignore[arg-type]
        assert engine.list_schedules() == []
