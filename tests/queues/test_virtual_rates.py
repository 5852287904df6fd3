"""A rate-limited queue on `TestEngine`'s virtual clock: the rate's alarm is a stop of the
clock like a timer, so queued runs start at the instants the window admits them — in
virtual time, without waiting in real time."""

from __future__ import annotations

import datetime as dt

import pytest

from aion_actors import Queue, RetryPolicy, WorkflowContext, activity, workflow
from aion_actors.core import events as ev
from aion_actors.testing import TestEngine
from tests.queues import flows
from tests.queues.history import most_in_window, started_at

SECOND = 1_000_000_000


@workflow
async def sleeper(ctx: WorkflowContext) -> str:
    await ctx.sleep(dt.timedelta(hours=1))
    return ctx.workflow_id


@pytest.mark.timeout(30)
def test_a_rate_limited_queue_drains_on_the_virtual_clock_at_exactly_its_window() -> None:
    with TestEngine() as engine:
        engine.register(flows.quick, Queue("paid", rate=(2, 10.0)))
        ids = [f"r{i}" for i in range(7)]
        began = engine.clock.now_ns()
        handles = [engine.enqueue("paid", flows.quick, i, workflow_id=w) for i, w in enumerate(ids)]
        assert [h.result(timeout=20) for h in handles] == list(range(7))
        starts = [started_at(engine, w) for w in ids]
        assert all(at is not None for at in starts)
        times = sorted(at for at in starts if at is not None)
        assert most_in_window(times, 10 * SECOND) <= 2
        # two per window, each window opening when the one before it ends: 0, 10, 20, 30 s
        assert [(at - began) // SECOND for at in times] == [0, 0, 10, 10, 20, 20, 30]


@pytest.mark.timeout(30)
def test_the_virtual_clock_stops_at_the_rate_alarm_and_at_timers_in_their_order() -> None:
    with TestEngine() as engine:
        engine.register(sleeper, Queue("slow", rate=(1, 1800.0)))
        began = engine.clock.now_ns()
        first = engine.enqueue("slow", sleeper, workflow_id="a")
        second = engine.enqueue("slow", sleeper, workflow_id="b")
        assert second.result(timeout=20) == "b" and first.result(timeout=20) == "a"
        starts = [started_at(engine, w) for w in ("a", "b")]
        assert [(at - began) // SECOND for at in starts if at is not None] == [0, 1800]
        for workflow_id in ("a", "b"):  # each timer fired exactly at its instant
            events = engine.history(workflow_id)
            [armed] = [e for e in events if isinstance(e, ev.TimerStarted)]
            [fired] = [e for e in events if isinstance(e, ev.TimerFired)]
            assert fired.recorded_at == armed.fire_at


@activity(executor="thread", rate=(1, 3600.0), retry=RetryPolicy(max_attempts=1))
def hourly(call: int) -> int:
    return call


@workflow
async def hourly_calls(ctx: WorkflowContext, count: int) -> list[int]:
    return list(await ctx.gather(*[ctx.activity(hourly, i) for i in range(count)]))


@pytest.mark.timeout(30)
def test_an_activity_rate_spaces_calls_on_the_virtual_clock_without_waiting_in_real_time() -> None:
    with TestEngine() as engine:
        engine.register(hourly, hourly_calls)
        began = engine.clock.now_ns()
        handle = engine.start(hourly_calls, 3, workflow_id="h")
        assert sorted(handle.result(timeout=20)) == [0, 1, 2]  # (real time: well under 20 s)
        events = engine.history("h")
        done = sorted(e.recorded_at for e in events if isinstance(e, ev.ActivityCompleted))
        # one call an hour of virtual time: each waited for the window, none more than that
        assert [(at - began) // (3600 * SECOND) for at in done] == [0, 1, 2]


@workflow
async def timed(ctx: WorkflowContext) -> int:
    began = ctx.now()
    await ctx.sleep(dt.timedelta(hours=1))
    return int(began.timestamp())


@pytest.mark.timeout(30)
def test_a_queued_runs_clock_starts_when_it_leaves_the_queue_on_replay_too() -> None:
    with TestEngine() as engine:
        engine.register(timed, Queue("one", concurrency=1))
        first = engine.enqueue("one", timed, workflow_id="a")
        second = engine.enqueue("one", timed, workflow_id="b")
        began_b = second.result(timeout=20)
        assert first.result(timeout=20) + 3600 == began_b  # b waited out a's hour in the queue
        events = engine.history("b")
        [dequeued] = [e for e in events if isinstance(e, ev.RunDequeued)]
        [armed] = [e for e in events if isinstance(e, ev.TimerStarted)]
        assert began_b == dequeued.recorded_at // SECOND  # ctx.now() is when its code started
        assert armed.fire_at == dequeued.recorded_at + 3600 * SECOND  # an hour of its own
