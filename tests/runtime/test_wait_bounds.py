"""How long a workflow may wait: `ctx.sleep` refuses what is not a duration, naming it, and a
wait too long to record (infinity, 1e300 s) waits until the last instant the stores keep
(2**64-1 ns, in 2554) instead of crashing the run: in effect for ever, until it is signalled,
cancelled or timed out by something shorter, across a reopening too."""

from __future__ import annotations

import math
from typing import Any

import pytest

from aion_actors import Engine, WorkflowCancelled, WorkflowContext, activity, workflow
from aion_actors.core import events as ev

ON_POSTGRES = True  # every test that takes `data_dir` runs on Postgres too

pytestmark = pytest.mark.timeout(120)

LAST_NS = 2**64 - 1


@activity(executor="thread")
def echo(value: int) -> int:
    return value


@workflow
async def sleeps(ctx: WorkflowContext, seconds: Any) -> str:
    try:
        await ctx.sleep(seconds)
    except ValueError as exc:
        return f"refused: {exc}"
    return "slept"


@workflow
async def waits_for_go(ctx: WorkflowContext, timeout: float) -> Any:
    return await ctx.wait_signal("go", timeout=timeout)


@workflow
async def echoes(ctx: WorkflowContext, timeout: float) -> int:
    result: int = await ctx.activity(echo, 7, timeout=timeout)
    return result


FLOWS = (sleeps, waits_for_go, echoes, echo)


def _open(data_dir: Any) -> Engine:
    engine = Engine.open(data_dir, workers=1)
    engine.register(*FLOWS)
    return engine


@pytest.mark.parametrize("seconds", [math.nan, "an hour", True, None])
def test_sleep_refuses_what_is_not_a_duration_naming_it(data_dir: Any, seconds: Any) -> None:
    with _open(data_dir) as engine:
        said = engine.start(sleeps, seconds).result(timeout=30)
    expected = "ctx.sleep() duration must be a number of seconds or a timedelta"
    assert said == f"refused: {expected}, got {seconds!r}"


def test_a_negative_sleep_ends_at_once_as_asyncio_sleep_does(data_dir: Any) -> None:
    with _open(data_dir) as engine:
        assert engine.start(sleeps, -5).result(timeout=30) == "slept"


@pytest.mark.parametrize("forever", [math.inf, 1e300])
def test_a_wait_too_long_to_record_waits_until_the_last_recordable_instant(
    data_dir: Any, forever: float
) -> None:
    with _open(data_dir) as engine:
        engine.start(sleeps, forever, workflow_id="sleeper")
        signalled = engine.start(waits_for_go, forever, workflow_id="waiter")
        assert engine.start(echoes, forever).result(timeout=30) == 7
        engine.signal("waiter", "go", 42)
        assert signalled.result(timeout=30) == 42
        timers = [e for e in engine.history("sleeper") if isinstance(e, ev.TimerStarted)]
        assert [t.fire_at for t in timers] == [LAST_NS]
    with _open(data_dir) as engine:  # the timer comes back from the store as it was
        assert engine.describe("sleeper").status.value == "running"
        engine.cancel("sleeper")
        with pytest.raises(WorkflowCancelled):
            engine.result("sleeper", timeout=30)


def test_a_start_timeout_too_long_to_record_is_a_deadline_at_the_last_recordable_instant(
    data_dir: Any,
) -> None:
    """(An infinite one is refused: `None` says "no timeout".)"""
    with _open(data_dir) as engine:
        run = engine.start(sleeps, 0, execution_timeout=1e300, run_timeout=1e300)
        assert run.result(timeout=30) == "slept"
        started = engine.history(run.workflow_id)[0]
    assert isinstance(started, ev.WorkflowStarted)
    assert started.execution_deadline == started.run_deadline == LAST_NS
