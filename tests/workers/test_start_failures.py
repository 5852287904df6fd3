"""Workers that cannot start: the pool backs off and fails queued work naming the module.

These pools use `spawn`, so each worker imports the activity modules itself
(a forkserver may already hold them preloaded from an earlier test).
"""

from __future__ import annotations

import time

import pytest

from aion_actors.workers import Task, WorkerPool
from tests.workers.helpers import Collector, attempt, wait_until


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (
            "tests.workers.broken_in_workers",
            [
                "RuntimeError: this module refuses to load in a worker process",
                "'tests.workers.broken_in_workers:task'",
            ],
        ),
        (
            "tests.workers.exits_in_workers",
            ["died (exit code 7) while importing 'tests.workers.exits_in_workers'"],
        ),
    ],
)
def test_queued_tasks_fail_with_worker_start_failed_naming_the_module(
    module: str, expected: list[str]
) -> None:
    pool = WorkerPool(2, {"task": f"{module}:task"}, start_method="spawn")
    try:
        collector = Collector()
        for i in range(3):
            pool.submit(Task("task", (), attempt(str(i))), collector.callback(str(i)))

        outcomes = collector.wait_for(3)

        for outcome in outcomes.values():
            assert outcome.error is not None
            assert outcome.error["type"] == "WorkerStartFailed"
            for text in expected:
                assert text in outcome.error["message"]
        # Later submissions fail promptly too, instead of waiting for a worker forever.
        late = Collector()
        pool.submit(Task("task", (), attempt("late")), late.callback("late"))
        assert late.wait_for(1)["late"].error["type"] == "WorkerStartFailed"  # type: ignore[index]
    finally:
        pool.close()


def test_restarts_back_off_instead_of_spinning() -> None:
    pool = WorkerPool(2, {"task": "tests.workers.exits_in_workers:task"}, start_method="spawn")
    try:
        wait_until(lambda: pool.stats().start_failures >= 4, what="a few failed starts")
        counted = pool.stats().start_failures
        time.sleep(1.0)
        # Backoff doubles from 50 ms: a spinning pool would fail dozens of times a second.
        assert pool.stats().start_failures - counted <= 6
        assert pool.stats().crashed == 0
    finally:
        pool.close()
