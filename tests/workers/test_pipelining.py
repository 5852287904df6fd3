"""Attempts queued inside a worker behind a short one: crashes, timeouts and cancels still
cost only the attempt that ran, and nothing runs twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors.workers import WITHDRAWN, CancelReason, Outcome, Task, WorkerPool, _pacing
from tests.workers import activities
from tests.workers.helpers import WAIT, Collector, attempt, run_one, wait_until

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def lone() -> Iterator[WorkerPool]:
    """One worker, and every activity timed once counts as short: attempts sent together
    queue in the worker."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_pacing, "SHORT", 60.0)
        pool = WorkerPool(1, activities.PATHS)
        try:
            yield pool
        finally:
            pool.close()


def _send_together(pool: WorkerPool, path: Path, tasks: list[Task], collector: Collector) -> None:
    """Time `note` once, then submit `tasks` while the pool's thread is held in that first
    attempt's callback, so that it takes them all at once: they go to the worker in one
    write, the first to run, the others queued behind it."""
    assert run_one(pool, "note", str(path), "warm").ok
    gate = threading.Event()

    def held(outcome: Outcome) -> None:
        gate.wait(WAIT)
        collector.callback("held")(outcome)

    pool.submit(Task("note", (str(path), "held"), attempt("held")), held)
    for task in tasks:
        pool.submit(task, collector.callback(task.attempt.activity_id))
    gate.set()


def _runs(path: Path) -> list[str]:
    return path.read_text().split()


@pytest.mark.parametrize("how", ["exit", "timeout"])
def test_attempts_queued_behind_one_that_kills_its_worker_run_once_on_the_next(
    lone: WorkerPool, tmp_path: Path, how: str
) -> None:
    path, collector = tmp_path / "runs", Collector()
    then, timeout = ("exit", None) if how == "exit" else ("sleep", 0.5)
    first = Task("note", (str(path), "first", then, 30.0), attempt("first"), timeout)
    queued = [Task("note", (str(path), f"q{i}"), attempt(f"q{i}")) for i in range(5)]

    _send_together(lone, path, [first, *queued], collector)
    outcomes = collector.wait_for(7)

    expected = "WorkerCrashed" if how == "exit" else "AttemptTimeout"
    assert outcomes["first"].error is not None
    assert outcomes["first"].error["type"] == expected
    assert {f"q{i}": outcomes[f"q{i}"].result for i in range(5)} == {
        f"q{i}": f"q{i}" for i in range(5)
    }
    assert _runs(path) == ["warm", "held", "first", "q0", "q1", "q2", "q3", "q4"]
    stats = lone.stats()
    assert (stats.crashed, stats.timeouts) == ((1, 0) if how == "exit" else (0, 1))


def test_an_attempt_cancelled_while_queued_in_its_worker_ends_unrun(
    lone: WorkerPool, tmp_path: Path
) -> None:
    path, collector = tmp_path / "runs", Collector()
    first = Task("note", (str(path), "first", "sleep", 0.5), attempt("first"))
    queued = Task("note", (str(path), "queued"), attempt("queued"))
    after = Task("note", (str(path), "after"), attempt("after"))

    _send_together(lone, path, [first, queued, after], collector)
    wait_until(lambda: "first" in _runs(path), what="the first attempt to start")
    lone.cancel(queued.attempt.key, 5.0, CancelReason.WORKFLOW_CANCELLED)
    outcomes = collector.wait_for(4)

    error = outcomes["queued"].error
    assert error is not None and error["type"] == "ActivityCancelled"
    assert "before it ran" in error["message"]
    assert outcomes["first"].result == "first" and outcomes["after"].result == "after"
    assert _runs(path) == ["warm", "held", "first", "after"]
    assert lone.stats().crashed == 0


def test_close_ends_attempts_queued_in_a_worker_as_executor_closed_unrun(
    tmp_path: Path,
) -> None:
    path, collector = tmp_path / "runs", Collector()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_pacing, "SHORT", 60.0)
        pool = WorkerPool(1, activities.PATHS)
        first = Task("note", (str(path), "first", "sleep", 0.3), attempt("first"))
        queued = [Task("note", (str(path), f"q{i}"), attempt(f"q{i}")) for i in range(3)]
        _send_together(pool, path, [first, *queued], collector)
        wait_until(lambda: "first" in _runs(path), what="the first attempt to start")
        pool.close()
    outcomes = collector.wait_for(5, timeout=0)
    assert outcomes["first"].result == "first"  # within the close's grace: it finishes
    for i in range(3):
        error = outcomes[f"q{i}"].error
        assert error is not None and error["type"] == "ExecutorClosed"
    assert _runs(path) == ["warm", "held", "first"]


def test_a_withdrawal_answers_the_attempts_queued_in_a_worker_unrun(
    lone: WorkerPool, tmp_path: Path
) -> None:
    """A drain's `withdraw()` while the worker holds three attempts behind its running one:
    the running one finishes, the three are answered `WITHDRAWN` after it, never run, and
    one submitted later is withdrawn too."""
    path, collector = tmp_path / "runs", Collector()
    first = Task("note", (str(path), "first", "sleep", 0.5), attempt("first"))
    queued = [Task("note", (str(path), f"q{i}"), attempt(f"q{i}")) for i in range(3)]

    _send_together(lone, path, [first, *queued], collector)
    wait_until(lambda: "first" in _runs(path), what="the first attempt to start")
    lone.withdraw()
    assert lone.withdrawing == 3  # held by the worker, not started, not answered yet
    lone.submit(Task("note", (str(path), "late"), attempt("late")), collector.callback("late"))
    outcomes = collector.wait_for(6)

    assert outcomes["first"].result == "first"
    assert all(outcomes[key] is WITHDRAWN for key in ("q0", "q1", "q2", "late"))
    assert _runs(path) == ["warm", "held", "first"]
    assert lone.withdrawing == 0
