"""ThreadExecutor: an attempt submitted by an activity thread while it hands its outcome
over (a run's lent turn dispatching its next activity) runs next in that thread, waking
no other; anywhere else, attempts go to the shared queue as before."""

from __future__ import annotations

import threading

import pytest

from aion_actors.workers import (
    ActivityCancelled,
    CancelReason,
    ExecutorClosed,
    Outcome,
    Task,
    ThreadExecutor,
)
from tests.workers.helpers import attempt

pytestmark = pytest.mark.timeout(30)


def _chain(executor: ThreadExecutor, links: int, ran: list[str]) -> threading.Event:
    """Submit `links` attempts one after another, each from the previous one's `done`."""
    finished = threading.Event()

    def done(outcome: Outcome) -> None:
        assert outcome.ok, outcome
        if len(ran) < links:
            executor.submit(Task("where", [], attempt(str(len(ran)))), done)
        else:
            finished.set()

    executor.submit(Task("where", [], attempt("first")), done)
    return finished


def test_the_next_attempt_submitted_while_handing_an_outcome_over_runs_in_the_same_thread() -> None:
    ran: list[str] = []
    executor = ThreadExecutor(4, {"where": lambda: ran.append(threading.current_thread().name)})
    try:
        assert _chain(executor, 5, ran).wait(10)
        assert len(ran) == 5 and len(set(ran)) == 1  # one thread: none other was started
    finally:
        executor.close()


def test_only_one_attempt_is_kept_for_the_handing_thread_the_rest_are_queued() -> None:
    release, started = threading.Event(), threading.Barrier(3, timeout=10)
    outcomes: list[Outcome] = []
    all_done = threading.Event()

    def block() -> str:
        started.wait()  # two attempts run at once: the kept one and a queued one
        release.wait(10)
        return threading.current_thread().name

    executor = ThreadExecutor(4, {"fan": lambda: None, "block": block})

    def settled(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if len(outcomes) == 2:
            all_done.set()

    def fan_out(outcome: Outcome) -> None:
        for n in range(2):
            executor.submit(Task("block", [], attempt(f"b{n}")), settled)

    try:
        executor.submit(Task("fan", [], attempt("fan")), fan_out)
        started.wait()
        release.set()
        assert all_done.wait(10)
        seen = [o.result for o in outcomes]
        assert len(set(seen)) == 2  # in two threads
    finally:
        executor.close()


def test_an_attempt_kept_for_its_thread_and_cancelled_first_ends_unrun() -> None:
    ran: list[str] = []
    ended: list[Outcome] = []
    finished = threading.Event()
    executor = ThreadExecutor(2, {"first": lambda: None, "second": lambda: ran.append("x")})
    key = attempt("second")

    def done(outcome: Outcome) -> None:
        ended.append(outcome)
        finished.set()

    def first_done(outcome: Outcome) -> None:
        executor.submit(Task("second", [], key), done)
        executor.cancel(
            key.key, 0.0, CancelReason.WORKFLOW_CANCELLED
        )  # before this thread is free to run it

    try:
        executor.submit(Task("first", [], attempt("first")), first_done)
        assert finished.wait(10)
        assert ran == [] and not ended[0].ok
        assert ended[0].error is not None and ActivityCancelled.__name__ in str(ended[0].error)
    finally:
        executor.close()


def test_an_attempt_kept_for_its_thread_when_the_executor_closes_ends_as_executor_closed() -> None:
    ended: list[Outcome] = []
    finished = threading.Event()
    ran: list[str] = []
    executor = ThreadExecutor(1, {"first": lambda: None, "second": lambda: ran.append("x")})

    def done(outcome: Outcome) -> None:
        ended.append(outcome)
        finished.set()

    def first_done(outcome: Outcome) -> None:
        executor.submit(Task("second", [], attempt("second")), done)
        executor.close()  # from inside this executor's thread: does not wait

    executor.submit(Task("first", [], attempt("first")), first_done)
    assert finished.wait(10)
    executor.close()
    assert ran == [] and not ended[0].ok
    assert ExecutorClosed.__name__ in str(ended[0].error)
