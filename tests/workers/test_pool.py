"""WorkerPool: results, errors, crashes, timeouts and load, with real worker processes."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from aion_actors.core import ConfigError
from aion_actors.workers import ExecutorClosed, Outcome, Task, WorkerPool
from tests.workers import activities
from tests.workers.helpers import (
    Collector,
    alive,
    assert_result_limit_of,
    attempt,
    run_one,
    wait_until,
)


def test_result_round_trips_msgpack_values_including_datetime_and_uuid(pool: WorkerPool) -> None:
    when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)
    ident = uuid.uuid4()
    value = {"when": when, "id": ident, "bytes": b"\x00\xff", "nested": [1, 2.5, None, True]}

    outcome = run_one(pool, "echo", value, "text")

    assert outcome.ok
    assert outcome.result == [value, "text"]
    assert outcome.error is None


def test_callable_wrapper_objects_are_called_with_the_args(pool: WorkerPool) -> None:
    assert run_one(pool, "wrapped_echo", 1, 2).result == {"wrapped": [1, 2]}


def test_an_exception_becomes_an_error_map_with_type_message_and_traceback(
    pool: WorkerPool,
) -> None:
    outcome = run_one(pool, "fail", "card declined")

    assert not outcome.ok
    assert outcome.error is not None
    assert outcome.error["type"] == "ValueError"
    assert outcome.error["message"] == "card declined"
    assert "activities.py" in outcome.error["traceback"]
    assert "raise ValueError(message)" in outcome.error["traceback"]


def test_an_unserialisable_result_is_a_payload_error_naming_the_activity_and_path(
    pool: WorkerPool,
) -> None:
    outcome = run_one(pool, "unrecordable")

    assert outcome.error is not None
    assert outcome.error["type"] == "PayloadError"
    assert "'unrecordable'" in outcome.error["message"]
    assert 'result["ok"][2]' in outcome.error["message"]
    assert pool.stats().crashed == 0
    assert run_one(pool, "echo", 1).ok


def test_unserialisable_arguments_fail_the_attempt_without_reaching_a_worker(
    pool: WorkerPool,
) -> None:
    outcome = run_one(pool, "echo", {"x": object()})

    assert outcome.error is not None
    assert outcome.error["type"] == "PayloadError"
    assert 'args[0]["x"]' in outcome.error["message"]
    assert pool.stats().completed == 0


def test_current_attempt_inside_a_worker_process(pool: WorkerPool) -> None:
    collector = Collector()
    pool.submit(Task("whoami", (), attempt("act-7", 3)), collector.callback("w"))
    outcome = collector.wait_for(1)["w"]

    assert outcome.result["key"] == "wf-1/run-1/act-7"
    assert outcome.result["attempt"] == 3
    assert outcome.result["pid"] in pool.pids()
    assert outcome.result["pid"] != os.getpid()
    assert collector.threads == {"aion-worker-pool"}


@pytest.mark.parametrize(
    ("activity", "args", "how"),
    [("exit_hard", (1,), "exit code 1"), ("kill_self", (), "killed by SIGKILL")],
)
def test_a_dying_worker_fails_its_attempt_as_worker_crashed_and_is_replaced(
    pool: WorkerPool, activity: str, args: tuple[int, ...], how: str
) -> None:
    before = pool.pids()

    outcome = run_one(pool, activity, *args)

    assert outcome.error is not None
    assert outcome.error["type"] == "WorkerCrashed"
    assert how in outcome.error["message"]
    assert repr(activity) in outcome.error["message"]
    wait_until(lambda: len(pool.pids()) == 2, what="a replacement worker")
    assert len(set(before) - set(pool.pids())) == 1
    assert pool.stats().crashed == 1
    assert pool.stats().replaced == 1
    results = [run_one(pool, "pid", key=str(i)).result for i in range(6)]
    assert set(results) <= set(pool.pids())


@pytest.mark.parametrize("kind", ["BrokenStr", "Escape"])
def test_an_exception_whose_str_raises_or_a_base_exception_is_recorded_by_type_and_the_worker_lives(
    pool: WorkerPool, kind: str
) -> None:
    before = pool.pids()

    outcome = run_one(pool, "raise_odd", kind)

    assert outcome.error is not None
    assert (outcome.error["type"], outcome.error["message"]) == (kind, activities.ODD[kind])
    assert "raise odd(kind)" in outcome.error["traceback"]
    assert run_one(pool, "echo", 1).ok
    assert pool.stats().crashed == 0
    assert set(pool.pids()) == set(before)


@pytest.mark.parametrize(
    ("kind", "how"), [("SystemExit", "exit code 3"), ("KeyboardInterrupt", "exit code 1")]
)
def test_system_exit_or_keyboard_interrupt_ends_its_worker_process_as_worker_crashed(
    pool: WorkerPool, kind: str, how: str
) -> None:
    """In a process of its own they mean "end this process" (sys.exit, a SIGINT sent to
    it): it ends, the attempt fails `WorkerCrashed` (retryable) and the worker is replaced."""
    outcome = run_one(pool, "raise_odd", kind)

    assert outcome.error is not None
    assert outcome.error["type"] == "WorkerCrashed"
    assert how in outcome.error["message"]
    wait_until(lambda: pool.stats().replaced == 1, what="a replacement worker")
    assert run_one(pool, "echo", 1).ok


def test_a_worker_killed_while_idle_is_replaced(pool: WorkerPool) -> None:
    # A worker that ran an attempt has finished starting: killing one that is still
    # starting is a start failure, not a crash (a loaded machine starts them slowly).
    ran = run_one(pool, "pid")
    assert ran.ok
    victim = ran.result

    os.kill(victim, signal.SIGKILL)

    wait_until(lambda: victim not in pool.pids() and len(pool.pids()) == 2, what="replacement")
    assert pool.stats().crashed == 1
    assert run_one(pool, "echo", "still here").result == ["still here"]


def test_an_attempt_past_its_timeout_is_killed_and_the_worker_replaced(
    pool: WorkerPool, tmp_path: os.PathLike[str]
) -> None:
    marker = os.path.join(tmp_path, "started")
    collector = Collector()
    pool.submit(Task("sleep", (60, marker), attempt(), timeout=0.2), collector.callback("slow"))
    wait_until(lambda: os.path.exists(marker), what="the slow attempt to start")
    busy = set(pool.pids())

    outcome = collector.wait_for(1)["slow"]

    assert outcome.error is not None
    assert outcome.error["type"] == "AttemptTimeout"
    assert "'sleep'" in outcome.error["message"]
    assert "0.2 s" in outcome.error["message"]
    wait_until(lambda: len(pool.pids()) == 2, what="a replacement worker")
    killed = busy - set(pool.pids())
    assert len(killed) == 1
    wait_until(lambda: not alive(tuple(killed)), what="the timed-out worker to be gone")
    stats = pool.stats()
    assert (stats.timeouts, stats.crashed, stats.replaced) == (1, 0, 1)
    assert run_one(pool, "sleep", 0, timeout=30).result == 0


def test_thousands_of_tasks_on_two_workers_each_complete_exactly_once(pool: WorkerPool) -> None:
    collector = Collector()
    count = 2000
    for i in range(count):
        pool.submit(Task("echo", (i,), attempt(str(i))), collector.callback(str(i)))

    outcomes = collector.wait_for(count)
    pool.close()

    assert len(collector.calls) == count
    assert {key: o.result for key, o in outcomes.items()} == {str(i): [i] for i in range(count)}
    assert pool.stats().completed == count


@pytest.mark.timeout(60)
def test_a_freed_worker_starts_the_next_queued_attempt_before_the_done_callback_runs(
    tmp_path: Path,
) -> None:
    """The worker is not left idle while its last outcome is handed over (a `done` that
    tells a run may cost the dispatcher its turn at the GIL)."""
    marker = tmp_path / "second-started"
    started_meanwhile: list[bool] = []
    collector = Collector()

    def first_done(outcome: Outcome) -> None:
        try:
            wait_until(marker.exists, 10, "the second attempt to start")
            started_meanwhile.append(True)
        except AssertionError:
            started_meanwhile.append(False)
        collector.callback("first")(outcome)

    pool = WorkerPool(1, activities.PATHS)
    try:
        pool.submit(Task("sleep", (0.2,), attempt("first")), first_done)
        pool.submit(Task("sleep", (0, str(marker)), attempt("second")), collector.callback("2"))
        outcomes = collector.wait_for(2)
    finally:
        pool.close()
    assert started_meanwhile == [True]
    assert outcomes["first"].result == 0.2 and outcomes["2"].result == 0


def test_concurrent_submitters_are_all_served(pool: WorkerPool) -> None:
    collector = Collector()

    def submit_batch(batch: int) -> None:
        for i in range(200):
            key = f"{batch}-{i}"
            pool.submit(Task("echo", (key,), attempt(key)), collector.callback(key))

    submitters = [threading.Thread(target=submit_batch, args=(b,)) for b in range(4)]
    for thread in submitters:
        thread.start()
    for thread in submitters:
        thread.join()

    outcomes = collector.wait_for(800)
    assert all(o.result == [key] for key, o in outcomes.items())
    assert len(collector.calls) == 800


def test_a_done_callback_that_raises_does_not_stop_the_pool(pool: WorkerPool) -> None:
    def broken(_: object) -> None:
        raise RuntimeError("callback bug")

    pool.submit(Task("echo", (1,), attempt()), broken)

    assert run_one(pool, "echo", 2).result == [2]


def test_done_callbacks_may_submit_and_close(pool: WorkerPool) -> None:
    collector = Collector()

    def chain(n: int) -> Callable[[Outcome], None]:
        def done(outcome: Outcome) -> None:
            collector.callback(str(n))(outcome)
            if n < 50:
                pool.submit(Task("echo", (n + 1,), attempt(str(n + 1))), chain(n + 1))
            else:
                pool.close()  # from the dispatcher thread: must not wait for itself

        return done

    pool.submit(Task("echo", (0,), attempt("0")), chain(0))

    outcomes = collector.wait_for(51)
    assert [outcomes[str(n)].result for n in range(51)] == [[n] for n in range(51)]
    pool.close()  # from outside: waits for the dispatcher to finish stopping
    assert pool.pids() == ()


def test_close_lets_short_attempts_finish_and_fails_the_rest_as_executor_closed(
    tmp_path: os.PathLike[str],
) -> None:
    pool = WorkerPool(2, activities.PATHS)
    pids = pool.pids()
    collector = Collector()
    marker = os.path.join(tmp_path, "long")
    pool.submit(Task("sleep", (60, marker), attempt("long")), collector.callback("long"))
    pool.submit(Task("sleep", (0.05,), attempt("short")), collector.callback("short"))
    for i in range(3):
        pool.submit(Task("echo", (i,), attempt(f"q{i}")), collector.callback(f"q{i}"))
    wait_until(lambda: os.path.exists(marker), what="the long attempt to start")

    pool.close()

    outcomes = collector.wait_for(5, timeout=0)
    assert len(collector.calls) == 5
    assert outcomes["long"].error is not None
    assert outcomes["long"].error["type"] == "ExecutorClosed"
    assert "'sleep'" in outcomes["long"].error["message"]
    # The queued echoes may have run on the second worker before close; none is lost.
    for key in ("q0", "q1", "q2"):
        assert outcomes[key].ok or outcomes[key].error["type"] == "ExecutorClosed"  # type: ignore[index]
    assert outcomes["short"].ok or outcomes["short"].error["type"] == "ExecutorClosed"  # type: ignore[index]
    assert alive(pids) == []
    assert pool.pids() == ()


def test_submit_after_close_raises_and_close_is_idempotent() -> None:
    pool = WorkerPool(1, activities.PATHS)
    pool.close()
    pool.close()

    with pytest.raises(ExecutorClosed, match="process executor is closed"):
        pool.submit(Task("echo", (), attempt()), lambda outcome: None)


def test_an_unknown_activity_name_is_refused_at_submit(pool: WorkerPool) -> None:
    with pytest.raises(LookupError, match="'nope'"):
        pool.submit(Task("nope", (), attempt()), lambda outcome: None)


def test_spawn_start_method_works_too() -> None:
    pool = WorkerPool(1, activities.PATHS, start_method="spawn")
    try:
        assert run_one(pool, "echo", "spawned").result == ["spawned"]
    finally:
        pool.close()


def _local_activity_path() -> str:
    def inner() -> None:
        return None

    return f"{__name__}:{inner.__qualname__}"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: WorkerPool(1, activities.PATHS, start_method="fork"), "never 'fork'"),
        (lambda: WorkerPool(0, activities.PATHS), "at least 1"),
    ],
)
def test_bad_configuration_is_refused_before_any_process_starts(make: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make()  # type: ignore[operator]


BAD_PATHS = {
    "no_colon": ("tests.workers.activities", "is not a 'module:qualname' import path"),
    "missing": ("tests.workers.activities:missing", "AttributeError"),
    "no_module": (
        "tests.workers.no_such_module:f",
        "No module named 'tests.workers.no_such_module'",
    ),
    "closure": (_local_activity_path(), "is defined inside a function"),
    "lambda": ("tests.workers.activities:<lambda>", "is a lambda"),
}


def test_each_activity_that_cannot_resolve_fails_alone_naming_itself_and_the_others_run() -> None:
    pool = WorkerPool(1, {**activities.PATHS, **{n: p for n, (p, _) in BAD_PATHS.items()}})
    try:
        for name, (_path, reason) in BAD_PATHS.items():
            outcome = run_one(pool, name)
            assert outcome.error is not None and outcome.error["type"] == "ActivityUnavailable"
            message = outcome.error["message"]
            assert f"activity {name!r} cannot run in a worker process" in message
            assert reason in message
            assert 'executor="thread"' in message
        assert run_one(pool, "echo", "still runs").result == ["still runs"]
    finally:
        pool.close()


def test_a_result_over_the_payload_limit_fails_the_attempt_naming_it() -> None:
    assert_result_limit_of(WorkerPool(1, activities.PATHS, max_result_bytes=100))
