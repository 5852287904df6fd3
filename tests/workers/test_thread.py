"""ThreadExecutor: the same contract as the process pool, on threads."""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from pathlib import Path

import pytest

from aion_actors.core import ConfigError
from aion_actors.workers import WITHDRAWN, ExecutorClosed, Task, ThreadExecutor, current_attempt
from tests.workers import activities, async_activities
from tests.workers.helpers import (
    Collector,
    assert_result_limit_of,
    attempt,
    run_one,
    wait_until,
)


def test_result_round_trips_like_a_process_result(threads: ThreadExecutor) -> None:
    when = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    ident = uuid.uuid4()

    assert run_one(threads, "echo", {"when": when, "id": ident}).result == [
        {"when": when, "id": ident}
    ]
    # Tuples come back as lists, exactly as a recorded result replays.
    assert run_one(threads, "tuple_back", 1).result == [1, [1]]


def test_the_activity_gets_a_copy_of_its_arguments() -> None:
    seen: list[object] = []

    def keep(value: list[int]) -> None:
        value.append(99)
        seen.append(value)

    original = [1, 2]
    executor = ThreadExecutor(1, {"keep": keep})
    try:
        assert run_one(executor, "keep", original).ok
    finally:
        executor.close()
    assert original == [1, 2]
    assert seen == [[1, 2, 99]]


def test_an_exception_becomes_an_error_map(threads: ThreadExecutor) -> None:
    outcome = run_one(threads, "fail", "nope")

    assert outcome.error is not None
    assert (outcome.error["type"], outcome.error["message"]) == ("ValueError", "nope")
    assert "raise ValueError(message)" in outcome.error["traceback"]


@pytest.mark.parametrize("how", ["raise_odd", "raise_odd_async", "raise_odd_in_task"])
@pytest.mark.parametrize("kind", sorted(activities.ODD))
def test_whatever_an_activity_raises_fails_its_attempt_by_type_and_the_threads_serve_on(
    how: str, kind: str
) -> None:
    """SystemExit, KeyboardInterrupt, another BaseException, an exception whose `str()`
    raises: from a plain function, a coroutine, or a task it gathers. Each is the attempt's
    failure, and the one thread and the shared loop run the next attempts at once."""
    functions = {**activities.FUNCTIONS, **async_activities.FUNCTIONS}
    executor = ThreadExecutor(1, functions)
    try:
        outcome = run_one(executor, how, kind, key="odd")
        assert outcome.error is not None
        assert (outcome.error["type"], outcome.error["message"]) == (kind, activities.ODD[kind])
        assert "odd(kind)" in outcome.error["traceback"]  # where it was raised
        collector = Collector()
        executor.submit(Task("echo", (1,), attempt("sync")), collector.callback("sync"))
        executor.submit(Task("echo_async", (2,), attempt("async")), collector.callback("async"))
        after = collector.wait_for(2, timeout=5)  # not stuck behind a dead thread or loop
    finally:
        executor.close()
    assert (after["sync"].result, after["async"].result) == ([1], [2])


def test_an_unserialisable_result_is_a_payload_error(threads: ThreadExecutor) -> None:
    outcome = run_one(threads, "unrecordable")

    assert outcome.error is not None
    assert outcome.error["type"] == "PayloadError"
    assert "'unrecordable'" in outcome.error["message"]


def test_current_attempt_inside_a_thread_and_not_outside(threads: ThreadExecutor) -> None:
    collector = Collector()
    threads.submit(Task("whoami", (), attempt("act-9", 2)), collector.callback("w"))
    result = collector.wait_for(1)["w"].result

    assert result["key"] == "wf-1/run-1/act-9"
    assert result["attempt"] == 2
    assert result["pid"] == os.getpid()
    assert result["thread"].startswith("aion-activity")
    assert all(name.startswith("aion-activity") for name in collector.threads)
    with pytest.raises(LookupError, match="outside a running activity"):
        current_attempt()


def test_a_timeout_is_delivered_at_the_deadline_and_the_late_result_dropped() -> None:
    release = threading.Event()
    finished = threading.Event()

    def stuck() -> str:
        release.wait(30)
        finished.set()
        return "late"

    executor = ThreadExecutor(2, {"stuck": stuck, "echo": activities.echo})
    try:
        collector = Collector()
        executor.submit(Task("stuck", (), attempt(), timeout=0.1), collector.callback("stuck"))

        outcome = collector.wait_for(1)["stuck"]
        assert outcome.error is not None
        assert outcome.error["type"] == "AttemptTimeout"
        assert "late result will be dropped" in outcome.error["message"]

        release.set()
        wait_until(finished.is_set, what="the stuck activity to return")
        assert run_one(executor, "echo", 1).ok  # a later outcome, so the late one had its chance
        assert len(collector.calls) == 1
    finally:
        executor.close()


def test_many_tasks_complete_exactly_once(threads: ThreadExecutor) -> None:
    collector = Collector()
    for i in range(2000):
        threads.submit(Task("echo", (i,), attempt(str(i)), timeout=30), collector.callback(str(i)))

    outcomes = collector.wait_for(2000)
    threads.close()

    assert len(collector.calls) == 2000
    assert {k: o.result for k, o in outcomes.items()} == {str(i): [i] for i in range(2000)}


def test_close_fails_unfinished_attempts_as_executor_closed(tmp_path: Path) -> None:
    executor = ThreadExecutor(1, activities.FUNCTIONS)
    collector = Collector()
    marker = tmp_path / "started"
    executor.submit(Task("sleep", (0.3, str(marker)), attempt("running")), collector.callback("r"))
    for i in range(3):
        executor.submit(Task("echo", (i,), attempt(f"q{i}")), collector.callback(f"q{i}"))
    wait_until(marker.exists, what="the first attempt to start")

    executor.close()

    outcomes = collector.wait_for(4, timeout=0)
    assert outcomes["r"].result == 0.3  # finished within the close grace
    for key in ("q0", "q1", "q2"):
        assert outcomes[key].error["type"] == "ExecutorClosed"  # type: ignore[index]
    assert len(collector.calls) == 4
    with pytest.raises(ExecutorClosed, match="thread executor is closed"):
        executor.submit(Task("echo", (), attempt()), lambda outcome: None)
    executor.close()


def test_bad_arguments_and_configuration_are_refused(threads: ThreadExecutor) -> None:
    outcome = run_one(threads, "echo", {1, 2})
    assert outcome.error is not None
    assert outcome.error["type"] == "PayloadError"
    with pytest.raises(LookupError, match="'nope'"):
        threads.submit(Task("nope", (), attempt()), lambda outcome: None)
    with pytest.raises(ConfigError, match="at least 1"):
        ThreadExecutor(0, {})


def test_a_result_over_the_payload_limit_fails_the_attempt_naming_it() -> None:
    assert_result_limit_of(ThreadExecutor(1, activities.FUNCTIONS, max_result_bytes=100))


def test_a_withdrawal_ends_the_queued_attempts_unrun_and_lets_the_running_one_finish(
    tmp_path: Path,
) -> None:
    """A drain's `withdraw()`: those queued behind the busy thread are answered `WITHDRAWN`
    at once, never run; the running one finishes; one submitted later is withdrawn too."""
    executor = ThreadExecutor(1, activities.FUNCTIONS)
    collector = Collector()
    marker = tmp_path / "started"
    executor.submit(Task("sleep", (0.3, str(marker)), attempt("running")), collector.callback("r"))
    for i in range(3):
        executor.submit(
            Task("note", (str(tmp_path / "ran"), f"q{i}"), attempt(f"q{i}")),
            collector.callback(f"q{i}"),
        )
    wait_until(marker.exists, what="the first attempt to start")

    executor.withdraw()

    assert {key for key, _ in collector.calls} == {"q0", "q1", "q2"}  # at once, all three
    assert all(outcome is WITHDRAWN for _, outcome in collector.calls)
    executor.submit(Task("echo", (1,), attempt("late")), collector.callback("late"))
    outcomes = collector.wait_for(5)
    assert outcomes["r"].result == 0.3
    assert outcomes["late"] is WITHDRAWN
    assert not (tmp_path / "ran").exists()
    executor.close()
