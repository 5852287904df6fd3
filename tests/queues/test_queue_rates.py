"""Queue rate limits: no window of `per` seconds holds more than `limit` starts, read back
from the recorded `RunDequeued` times — within one engine's life and across a SIGKILL."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from aion_actors import Engine, Queue
from aion_actors.core.durations import LAST_NS, LONGEST_PERIOD
from aion_actors.runtime.alarm import Alarm
from aion_actors.runtime.clock import SystemClock
from aion_actors.runtime.rates import Rate, Window, rate_of
from tests.queues import flows
from tests.queues.history import most_in_window, started_at
from tests.queues.queue_child import enqueuing
from tests.workers.helpers import wait_until

SECOND = 1_000_000_000


def test_a_window_never_admits_more_than_its_limit_in_any_window_and_says_when_it_will() -> None:
    rng = random.Random(7)
    window = Window(Rate(5, 1.0))
    now, starts, pending = 0, [], []
    for _ in range(2000):
        now += rng.randrange(0, SECOND // 5)
        if pending and rng.random() < 0.6:  # a granted start's time becomes known
            pending.pop()
            window.started(now)
            starts.append(now)
        if window.admits(now):
            window.grant()
            pending.append(now)
        else:
            at = window.next_at(now)
            assert at is None or at > now
            if at is not None:
                assert window.admits(at)
    assert most_in_window(starts, SECOND) <= 5
    assert len(starts) > 500  # it did let starts go


def test_a_granted_start_blocks_until_its_time_is_known_and_a_withdrawn_one_frees_its_place() -> (
    None
):
    window = Window(Rate(2, 1.0))
    window.grant()
    window.grant()
    assert not window.admits(0) and window.next_at(0) is None  # pending fill the window
    window.withdraw()
    assert window.admits(0)
    window.grant()
    window.started(10)
    window.started(20)
    assert not window.admits(SECOND + 9)
    assert window.next_at(SECOND) == SECOND + 10


def test_a_bad_rate_is_refused_naming_the_queue_and_the_form_expected() -> None:
    assert rate_of((20, 1), "x") == Rate(20, 1.0)
    for bad in ((0, 1.0), (2.5, 1.0), (20, 0), (20, -1.0), (20, float("inf")), 20, (True, 1)):
        with pytest.raises(ValueError, match=r"Queue\('q'\) rate=.*\(limit, seconds\)"):
            Queue("q", rate=bad)  # type: ignore[arg-type]


def test_a_window_longer_than_a_century_or_infinite_is_refused_naming_the_queue_and_range() -> None:
    for bad in ((1, 1e10), (1, float("inf")), Rate(1, 1e10), (1, LONGEST_PERIOD + 1)):
        with pytest.raises(
            ValueError, match=r"Queue\('slow'\) rate=.* at most \d+ s \(100 years\)"
        ):
            Queue("slow", rate=bad)  # type: ignore[arg-type]
    assert Queue("slow", rate=(1, LONGEST_PERIOD)).limit == Rate(1, LONGEST_PERIOD)


class _FarWaits(SystemClock):
    """The wall clock, telling when a wait for the last instant a store records begins."""

    def __init__(self) -> None:
        self.far = threading.Event()

    def wait(self, cond: threading.Condition, until_ns: int) -> None:
        if until_ns == LAST_NS:
            self.far.set()  # (the waiter holds `cond` until it waits: arming after this is late)
        super().wait(cond, until_ns)


@pytest.mark.timeout(30)
def test_a_rate_alarm_waiting_for_an_instant_centuries_ahead_still_calls_nearer_ones() -> None:
    clock = _FarWaits()
    alarm = Alarm(clock, "test-alarm")
    called = threading.Event()
    try:
        alarm.arm("slow", LAST_NS, lambda: None)
        assert clock.far.wait(10)
        alarm.arm("fast", clock.now_ns(), called.set)
        assert called.wait(10), "the alarm's thread died waiting for the far instant"
    finally:
        alarm.close()


@pytest.mark.timeout(60)
def test_a_fast_queue_keeps_starting_runs_beside_a_queue_with_the_longest_window(
    engine: Engine,
) -> None:
    slow, fast = Queue("slow", rate=(1, LONGEST_PERIOD)), Queue("fast", rate=(1, 0.1))
    engine.register(slow, fast)
    for i in range(2):
        engine.enqueue(slow, flows.quick, i, workflow_id=f"slow-{i}")
    handles = [engine.enqueue(fast, flows.quick, i, workflow_id=f"fast-{i}") for i in range(3)]
    assert [handle.result(timeout=30) for handle in handles] == [0, 1, 2]
    assert engine.describe("slow-1").status.value == "queued"  # its window holds slow-0


@pytest.mark.timeout(120)
def test_a_rate_of_20_a_second_holds_in_every_one_second_window_and_reaches_90_percent(
    engine: Engine,
) -> None:
    queue = Queue("paced", rate=(20, 1.0))
    engine.register(queue)
    ids = [f"r{i:03d}" for i in range(200)]  # more than it can start meanwhile: a backlog
    for workflow_id in ids:
        engine.enqueue(queue, flows.quick, workflow_id=workflow_id)
    engine.result(ids[119], timeout=60)  # FIFO: ~6 s of starts
    times = sorted(t for w in ids if (t := started_at(engine, w)) is not None)
    assert len(times) >= 120
    assert most_in_window(times, SECOND) <= 20
    first_five_seconds = [t for t in times if t < times[0] + 5 * SECOND]
    # 20 at once, then 20 a second: 100 in the first 5 s at the full rate
    assert len(first_five_seconds) >= 0.9 * 100


@pytest.mark.timeout(60)
def test_registering_a_queue_again_with_a_rate_limits_its_next_starts(engine: Engine) -> None:
    engine.register(Queue("q"))
    engine.register(Queue("q", rate=(3, 60.0)))
    for i in range(5):
        engine.enqueue("q", flows.quick, i, workflow_id=f"q{i}")
    for i in range(3):
        assert engine.result(f"q{i}", timeout=10) == i
    assert engine.describe("q3").status.value == "queued"
    assert engine.stats()["queued"] == 2


@pytest.mark.timeout(120)
def test_a_restart_grants_no_fresh_burst_the_last_windows_starts_come_from_history(
    tmp_path: Path,
) -> None:
    data, ledger = tmp_path / "data", str(tmp_path / "ledger")
    # a window's worth before the kill, another after: a fresh burst would start the
    # second at once, inside the first window
    runs, rate = 20, flows.RATED_QUEUE.limit
    assert rate is not None
    with enqueuing(data, ledger, runs, "rated"):  # killed well inside the first window
        wait_until(lambda: len(flows.noted(ledger)) >= rate.limit, 60, "a window of starts")

    with Engine.open(data, workers=1) as engine:
        engine.register(*flows.ALL, flows.RATED_QUEUE)
        registered = time.time_ns()
        ids = [f"run-{i:03d}" for i in range(runs)]
        assert [engine.result(w, timeout=60) for w in ids] == ids
        times = [started_at(engine, w) for w in ids]
    assert all(t is not None for t in times)
    first = min(t for t in times if t is not None)
    assert registered < first + rate.per_ns, "reopened too late for a fresh burst to show"
    assert most_in_window([t for t in times if t is not None], rate.per_ns) <= rate.limit
