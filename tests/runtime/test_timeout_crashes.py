"""SIGKILL the engine while a run's timeout is pending; reopen before or after its deadline.

The deadline is in the run's `WorkflowStarted` and in the timer index, so the
reopened engine times the run out at once if the deadline passed while it was
dead, or at the deadline if not — recorded exactly once either way.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from aion_actors import AionError, Engine, WorkflowTimedOut
from aion_actors.core import events as ev
from aion_actors.store import LmdbStore
from tests.crashes import kill_engine
from tests.runtime import timeout_flows as tf
from tests.workers.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]


def _history(data: Path) -> list[ev.Event]:
    try:
        with LmdbStore(data, readonly=True) as store:
            run = store.latest_run("bounded")
            return store.read("bounded", run.run_id) if run else []
    except AionError:  # the engine has not created the directory yet
        return []


def _start_then_kill(data: Path, run_timeout: float) -> ev.WorkflowStarted:
    """Start the bounded run in an engine process and SIGKILL it once the start is recorded."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.runtime.timeout_flows", str(data), str(run_timeout)],
        cwd=ROOT,
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: bool(_history(data)), 60, "the run to start")
    finally:
        kill_engine(child)
    [started] = _history(data)
    assert isinstance(started, ev.WorkflowStarted) and started.run_deadline is not None
    return started


def _reopen_and_wait(data: Path, *, replays: int) -> list[ev.Event]:
    with Engine.open(data, workers=1) as engine:
        engine.register(*tf.ALL)
        with pytest.raises(WorkflowTimedOut):
            engine.result("bounded", timeout=30)
        history = engine.history("bounded")
        assert engine.stats()["rehydrations"] == replays
    with Engine.open(data, workers=1) as engine:  # and again: nothing more is recorded
        engine.register(*tf.ALL)
        assert engine.history("bounded") == history
    return history


@pytest.mark.timeout(120)
def test_a_deadline_passed_while_the_engine_was_dead_times_out_once_on_reopen(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    started = _start_then_kill(data, 1.0)
    assert started.run_deadline is not None
    time.sleep(max(0.0, (started.run_deadline - time.time_ns()) / 1e9) + 0.2)

    reopened = time.time_ns()
    history = _reopen_and_wait(data, replays=0)  # its code is not run again to time it out

    assert [e.kind for e in history] == ["WorkflowStarted", "WorkflowTimedOut"]
    closing = history[-1]
    assert isinstance(closing, ev.WorkflowTimedOut) and closing.timeout == "run"
    assert closing.recorded_at >= reopened  # recorded by the reopened engine, at once


@pytest.mark.timeout(120)
def test_an_engine_reopened_before_the_deadline_times_the_run_out_at_its_deadline(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    started = _start_then_kill(data, 6.0)
    assert started.run_deadline is not None
    assert time.time_ns() < started.run_deadline - 2_000_000_000  # reopened well before it
    history = _reopen_and_wait(data, replays=1)  # recovery replays it: it waits for a signal
    assert [e.kind for e in history] == ["WorkflowStarted", "WorkflowTimedOut"]
    assert history[-1].recorded_at >= started.run_deadline  # not before
