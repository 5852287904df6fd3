"""ThreadExecutor's `settling` window: entered by an attempt's own thread around handing
its outcome to `done` (the engine lends that thread the run's turn), and around nothing else."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from aion_actors.workers import Outcome, Task, ThreadExecutor, current_attempt
from tests.workers.helpers import attempt

pytestmark = pytest.mark.timeout(30)


class _Window:
    """Notes which thread is inside the window now, and each entry."""

    def __init__(self) -> None:
        self.inside: set[str] = set()
        self.entered: list[str] = []

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        name = threading.current_thread().name
        self.entered.append(name)
        self.inside.add(name)
        try:
            yield
        finally:
            self.inside.discard(name)


def _run(executor: ThreadExecutor, name: str, *args: Any, beat: Any = None) -> tuple[Outcome, str]:
    seen: list[tuple[Outcome, str]] = []
    done = threading.Event()

    def finished(outcome: Outcome) -> None:
        seen.append((outcome, threading.current_thread().name))
        done.set()

    executor.submit(Task(name, list(args), attempt()), finished, beat)
    assert done.wait(10)
    return seen[0]


def test_the_outcome_and_only_the_outcome_is_handed_over_inside_the_settling_window() -> None:
    window = _Window()
    during: dict[str, bool] = {}

    def beating() -> int:
        during["function"] = threading.current_thread().name in window.inside
        current_attempt().heartbeat("half way")
        return 1

    def beat(details: Any) -> None:
        during["heartbeat"] = threading.current_thread().name in window.inside

    def fails() -> None:
        raise ValueError("no")

    executor = ThreadExecutor(1, {"beating": beating, "fails": fails}, settling=window)
    try:
        outcome, thread = _run(executor, "beating", beat=beat)
        assert outcome.ok and outcome.result == 1
        assert window.entered == [thread]  # the attempt's own thread, once, for its outcome
        assert during == {"function": False, "heartbeat": False}
        outcome, thread = _run(executor, "fails")
        assert not outcome.ok and window.entered == [thread, thread]  # a failure too
    finally:
        executor.close()


def test_a_timed_out_attempt_is_settled_outside_the_window() -> None:
    window = _Window()
    release = threading.Event()

    def stuck() -> None:
        release.wait(10)

    executor = ThreadExecutor(1, {"stuck": stuck}, settling=window)
    try:
        done = threading.Event()
        task = Task("stuck", [], attempt(), timeout=0.05)
        executor.submit(task, lambda outcome: done.set())
        assert done.wait(10)
        assert window.entered == []  # the deadline thread hands the timeout over as it is
    finally:
        release.set()
        executor.close()
