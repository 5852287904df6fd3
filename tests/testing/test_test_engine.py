"""The time-skipping test engine: virtual time moves by itself only while the engine
has nothing to do but wait for timers, and by exactly what `clock.advance` says."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors import RetryPolicy, WorkflowContext, activity, workflow
from aion_actors.core import events as ev
from aion_actors.testing import TestEngine

ROOT = Path(__file__).resolve().parents[2]
DAY = 86_400 * 10**9
HOUR = 3_600 * 10**9


@activity(retry=RetryPolicy(max_attempts=4, initial=3600, multiplier=2, max_interval=86400))
def charge(amount: int) -> str:
    raise RuntimeError("the real charge must not run in these tests")


@workflow
async def renewal(ctx: WorkflowContext, amount: int) -> dict:
    approval = await ctx.wait_signal("approve", timeout=dt.timedelta(days=60))
    await ctx.sleep(dt.timedelta(days=30))
    receipt = await ctx.activity(charge, amount)
    return {"approval": approval, "receipt": receipt}


@workflow
async def three_timers(ctx: WorkflowContext) -> None:
    await ctx.gather(ctx.sleep(3600), ctx.sleep(7200), ctx.sleep(10800))


@workflow
async def charge_once(ctx: WorkflowContext, amount: int) -> str:
    result: str = await ctx.activity(charge, amount)
    return result


_released = threading.Event()


@activity(executor="thread")
def blocker() -> str:
    _released.wait(10)
    return "done"


@workflow
async def busy_then_sleep(ctx: WorkflowContext) -> list:
    return await ctx.gather(ctx.activity(blocker), ctx.sleep(dt.timedelta(days=1)))


@workflow
async def sleeps_days(ctx: WorkflowContext, days: int) -> int:
    await ctx.sleep(dt.timedelta(days=days))
    return days


@workflow
async def yearly(ctx: WorkflowContext) -> None:
    for _ in range(100):
        await ctx.sleep(dt.timedelta(days=365))


@workflow
async def waits_for_a_signal(ctx: WorkflowContext) -> object:
    return await ctx.wait_signal("go")


@workflow
async def parent_of_a_sleeper(ctx: WorkflowContext) -> int:
    return int(await ctx.child(sleeps_days, 20, workflow_id="child-sleeper"))


@pytest.fixture
def engine() -> Iterator[TestEngine]:
    with TestEngine(activities={charge: lambda amount: f"paid {amount}"}) as engine:
        engine.register(renewal, three_timers, charge_once, charge, blocker, busy_then_sleep)
        engine.register(sleeps_days, yearly, waits_for_a_signal, parent_of_a_sleeper)
        yield engine


def _at(events: list[ev.Event], kind: type[ev.Event]) -> list[int]:
    """When (ns after the run started) each event of `kind` was recorded."""
    start = events[0].recorded_at
    return [e.recorded_at - start for e in events if isinstance(e, kind)]


@pytest.mark.timeout(20)
def test_a_30_day_sleep_with_a_signal_10_days_in_ends_in_virtual_time(engine: TestEngine) -> None:
    run = engine.start(renewal, 500, workflow_id="renewal")
    engine.clock.advance(dt.timedelta(days=10))
    engine.signal("renewal", "approve", "ops")
    assert run.result(timeout=10) == {"approval": "ops", "receipt": "paid 500"}
    history = engine.history("renewal")
    assert _at(history, ev.SignalReceived) == [10 * DAY]
    assert _at(history, ev.TimerFired) == [40 * DAY]  # 30 days after the signal
    assert _at(history, ev.WorkflowCompleted) == [40 * DAY]
    assert engine.clock.now_ns() - history[0].recorded_at == 40 * DAY


@pytest.mark.timeout(20)
def test_a_fake_activity_runs_under_the_real_activitys_name(engine: TestEngine) -> None:
    assert engine.start(charge_once, 7).result(timeout=10) == "paid 7"
    [run] = engine.list_runs()
    scheduled = [e for e in engine.history(run.workflow_id) if isinstance(e, ev.ActivityScheduled)]
    assert [e.name for e in scheduled] == ["charge"]


@pytest.mark.timeout(20)
def test_clock_advance_fires_exactly_the_timers_due(engine: TestEngine) -> None:
    engine.start(three_timers, workflow_id="timers")
    engine.clock.advance(dt.timedelta(minutes=90))
    assert _at(engine.history("timers"), ev.TimerFired) == [HOUR]
    engine.clock.advance(dt.timedelta(minutes=30))  # exactly the second one's fire time
    assert _at(engine.history("timers"), ev.TimerFired) == [HOUR, 2 * HOUR]
    assert engine.describe("timers").status.value == "running"
    engine.clock.advance(dt.timedelta(hours=1))
    assert _at(engine.history("timers"), ev.TimerFired) == [HOUR, 2 * HOUR, 3 * HOUR]
    assert engine.result("timers", timeout=10) is None


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    ("delta", "message"),
    [
        ("10", "number of seconds >= 0 or a timedelta, got '10'"),
        (True, "number of seconds >= 0 or a timedelta, got True"),
        (None, "number of seconds >= 0 or a timedelta, got None"),
        (float("nan"), "got nan"),
        (-1, "got -1"),
        (float("inf"), "must be a finite number of seconds"),
        (1e300, "past the last instant the stores keep"),
    ],
)
def test_clock_advance_refuses_what_is_no_duration_naming_itself_and_time_stays(
    engine: TestEngine, delta: object, message: str
) -> None:
    before = engine.clock.now_ns()
    with pytest.raises(ValueError, match=r"clock\.advance\(\) .*" + message):
        engine.clock.advance(delta)  # type: ignore[arg-type]
    assert engine.clock.now_ns() == before


@pytest.mark.timeout(20)
def test_retries_with_backoff_skip_time_too() -> None:
    failures = iter([RuntimeError("declined"), RuntimeError("declined")])

    def flaky(amount: int) -> str:
        error = next(failures, None)
        if error is not None:
            raise error
        return f"paid {amount}"

    with TestEngine(activities={charge: flaky}) as engine:
        engine.register(charge_once)
        assert engine.start(charge_once, 9, workflow_id="retry").result(timeout=10) == "paid 9"
        history = engine.history("retry")
    # the real activity's policy: one hour, then two, each skipped
    assert _at(history, ev.ActivityScheduled) == [0, HOUR, 3 * HOUR]
    assert _at(history, ev.ActivityCompleted) == [3 * HOUR]


@pytest.mark.timeout(20)
def test_waiting_for_a_run_that_only_waits_for_a_signal_leaves_the_clock_alone(
    engine: TestEngine,
) -> None:
    """Time cannot bring that run on: skipping it would only fire other runs' timers (here,
    a century of yearly ones) while the test waits for a signal it has not sent."""
    started = engine.clock.now_ns()
    engine.start(yearly, workflow_id="yearly")
    run = engine.start(waits_for_a_signal, workflow_id="listens")
    with pytest.raises(TimeoutError, match=r"within 0.5 s \(it is running\)"):
        run.result(timeout=0.5)
    assert engine.clock.now_ns() == started
    assert _at(engine.history("yearly"), ev.TimerFired) == []
    engine.signal("listens", "go", "now")
    assert run.result(timeout=10) == "now"


@pytest.mark.timeout(20)
def test_waiting_for_a_run_jumps_to_its_own_timers_firing_those_due_on_the_way(
    engine: TestEngine,
) -> None:
    started = engine.clock.now_ns()
    engine.start(sleeps_days, 10, workflow_id="earlier")
    engine.start(sleeps_days, 60, workflow_id="later")
    assert engine.start(sleeps_days, 30, workflow_id="waited").result(timeout=10) == 30
    assert engine.clock.now_ns() - started == 30 * DAY
    assert engine.result("earlier", timeout=1) == 10  # due on the way: fired at its time
    assert _at(engine.history("earlier"), ev.TimerFired) == [10 * DAY]
    assert _at(engine.history("later"), ev.TimerFired) == []  # not the waited run's: not yet
    assert engine.start(parent_of_a_sleeper, workflow_id="parent").result(timeout=10) == 20
    assert engine.clock.now_ns() - started == 50 * DAY  # its child's timer is its own


@pytest.mark.timeout(20)
def test_time_does_not_skip_while_an_activity_runs(engine: TestEngine) -> None:
    _released.clear()
    started = engine.clock.now_ns()
    run = engine.start(busy_then_sleep, workflow_id="busy")
    with pytest.raises(TimeoutError):
        run.result(timeout=0.5)
    assert engine.clock.now_ns() == started
    assert _at(engine.history("busy"), ev.TimerFired) == []
    _released.set()
    assert run.result(timeout=10) == ["done", None]
    assert _at(engine.history("busy"), ev.TimerFired) == [DAY]


TEST_FILE = """
import datetime as dt

from aion_actors import WorkflowContext, workflow
from aion_actors.testing import TestEngine


@workflow
async def reminder(ctx: WorkflowContext) -> str:
    await ctx.sleep(dt.timedelta(days=365))
    return "remind"


def test_a_year_passes(aion_engine: TestEngine) -> None:
    aion_engine.register(reminder)
    assert aion_engine.start(reminder).result(timeout=10) == "remind"
    assert aion_engine.clock.now() > dt.datetime.now(dt.UTC) + dt.timedelta(days=364)
"""


PYTEST_ARGS = ["-p", "no:cacheprovider", "-q", "test_reminder.py"]


@pytest.mark.timeout(60)
def test_the_aion_engine_fixture_comes_with_pytest_p_aion_actors_testing(tmp_path: Path) -> None:
    (tmp_path / "test_reminder.py").write_text(TEST_FILE)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "aion_actors.testing", *PYTEST_ARGS],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
