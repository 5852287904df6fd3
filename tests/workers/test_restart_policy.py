"""The pool replaces its workers by its `RestartPolicy`: the window and backoff of supervisors."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

import pytest

from aion_actors import activity
from aion_actors.runtime.catalog import Catalog
from aion_actors.runtime.executors import Executors
from aion_actors.workers import Outcome, Task, WorkerPool
from supervisor import Backoff, RestartPolicy
from tests.workers import activities
from tests.workers.helpers import WAIT, attempt, run_one, wait_until


def _policy(max_restarts: int, initial: float) -> RestartPolicy:
    backoff = Backoff(initial=initial, multiplier=2.0, max=5.0)
    return RestartPolicy(max_restarts=max_restarts, within_seconds=60.0, backoff=backoff)


def _kill_and_time_replacement(pool: WorkerPool) -> float:
    (pid,) = pool.pids()
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: pool.pids() not in ((), (pid,)), WAIT, "a replacement worker")
    return time.monotonic() - killed


def test_worker_replacements_wait_the_backoff_of_the_pool_policy() -> None:
    pool = WorkerPool(1, activities.PATHS, policy=_policy(max_restarts=5, initial=0.4))
    try:
        assert run_one(pool, "echo", 1).result == [1]
        first = _kill_and_time_replacement(pool)
        assert run_one(pool, "echo", 2).result == [2]
        second = _kill_and_time_replacement(pool)  # one earlier restart in the window: doubled

        assert 0.4 <= first < 0.4 + 5
        assert 0.8 <= second < 0.8 + 5
        assert run_one(pool, "echo", 3).result == [3]
        assert pool.stats().crashed == 2 and pool.stats().replaced == 2
    finally:
        pool.close()


def test_crashes_beyond_the_window_warn_once_and_workers_are_still_replaced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool = WorkerPool(1, activities.PATHS, policy=_policy(max_restarts=1, initial=0.0))
    try:
        with caplog.at_level(logging.WARNING, logger="aion_actors.workers"):
            for i in range(4):
                crashed = run_one(pool, "kill_self", key=f"k{i}")
                assert crashed.error is not None and crashed.error["type"] == "WorkerCrashed"
            assert run_one(pool, "echo", "after the storm").result == ["after the storm"]
        storms = [r for r in caplog.records if "were replaced more than 1 times" in r.message]
        assert len(storms) == 1
        assert not pool.stats().broken
    finally:
        pool.close()


def test_executors_give_their_worker_policy_to_the_process_pool() -> None:
    catalog = Catalog()
    kill_self, echo = activity(activities.kill_self), activity(activities.echo)
    catalog.register(kill_self, echo)
    executors = Executors(catalog, workers=1, worker_policy=_policy(max_restarts=5, initial=0.5))
    outcomes: list[tuple[float, Outcome]] = []
    landed = threading.Condition()

    def done(outcome: Outcome) -> None:
        with landed:
            outcomes.append((time.monotonic(), outcome))
            landed.notify_all()

    try:
        executors.submit(kill_self, Task("kill_self", (), attempt("k")), done)
        executors.submit(echo, Task("echo", ("x",), attempt("e")), done)  # waits for the restart
        with landed:
            assert landed.wait_for(lambda: len(outcomes) == 2, WAIT)
    finally:
        executors.close()
    (crashed_at, crashed), (echoed_at, echoed) = outcomes
    assert crashed.error is not None and crashed.error["type"] == "WorkerCrashed"
    assert echoed.result == ["x"]
    assert echoed_at - crashed_at >= 0.5
