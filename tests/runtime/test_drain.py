"""`Engine.close(drain=)`: a deploy's graceful stop. The attempts running at close finish
and their outcomes are recorded, so reopening runs them no more; no new attempt starts
meanwhile (it waits, recorded as scheduled, for the next engine)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pykka
import pytest

from aion_actors import Engine
from aion_actors.aio import AsyncEngine
from tests.runtime import drain_flows
from tests.runtime.drain_flows import announcements, two_steps, wait_announced
from tests.workers.helpers import wait_until

ON_POSTGRES = True  # every test that takes `data_dir` runs on Postgres too

pytestmark = pytest.mark.timeout(120)


def _open(data_dir: Any, threads: int = 32) -> Engine:
    engine = Engine.open(data_dir, workers=1, threads=threads)
    engine.register(*drain_flows.ALL)
    return engine


def _finish(data_dir: Any, workflow_id: str) -> list[str]:
    """Reopen the store and let the run finish: its result."""
    threads = set(threading.enumerate())
    engine = _open(data_dir)
    try:
        result: list[str] = engine.result(workflow_id, timeout=60)
    finally:  # another run's step running now is recorded, not run again at the next open
        engine.close(drain=30)
    assert pykka.ActorRegistry.get_all() == []
    wait_until(lambda: set(threading.enumerate()) <= threads, 10, "engine threads to end")
    return result


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_a_drained_close_records_the_running_attempts_and_starts_no_new_one(
    data_dir: Any, tmp_path: Path, executor: str
) -> None:
    """Two runs' first steps run at close: the quick one's ends during the drain, and
    its run's second step is not started; the slow one's ends, recorded, too. (With one
    worker process the quick step starts only once the slow one has ended: the slow run's
    second step is then queued behind it at close, and must not start during the drain
    either; it did when the drain began after that step was sent, failing this test now
    and then.)"""
    slow, quick = tmp_path / "slow", tmp_path / "quick"
    with announcements(tmp_path) as (announce, server):
        engine = _open(data_dir)
        engine.start(two_steps, announce, str(slow), 1.0, executor, workflow_id="slow")
        engine.start(two_steps, announce, str(quick), 0.2, executor, workflow_id="quick")
        wait_announced(server)
        wait_announced(server)  # both first steps run
        engine.close(drain=60)
    assert slow.read_text().split() == quick.read_text().split() == ["first"]
    assert _finish(data_dir, "slow") == _finish(data_dir, "quick") == ["first", "second"]
    # each first step ran once: its outcome was recorded before the engine closed
    assert slow.read_text().split() == quick.read_text().split() == ["first", "second"]


def test_a_drain_lets_no_attempt_waiting_for_its_activitys_concurrency_go(
    data_dir: Any, tmp_path: Path
) -> None:
    """`concurrency=1`: the second run's first step waits for the slot at close; the
    drain lets the running one finish, not the waiting one start."""
    running, waiting = tmp_path / "running", tmp_path / "waiting"
    with announcements(tmp_path) as (announce, server):
        engine = _open(data_dir)
        engine.start(two_steps, announce, str(running), 0.5, "limited", workflow_id="running")
        wait_announced(server)
        engine.start(two_steps, announce, str(waiting), 0.0, "limited", workflow_id="waiting")
        limited = lambda: engine.stats()["activity_limited"] == 1  # noqa: E731
        wait_until(limited, 10, "the second run's attempt waiting for the slot")
        engine.close(drain=60)
    assert running.read_text().split() == ["first"]
    assert not waiting.exists()  # never started
    assert _finish(data_dir, "running") == _finish(data_dir, "waiting") == ["first", "second"]
    assert running.read_text().split() == waiting.read_text().split() == ["first", "second"]


def _scheduled(engine: Engine, workflow_id: str) -> bool:
    return any(e.kind == "ActivityScheduled" for e in engine.history(workflow_id))


@contextlib.contextmanager
def _one_running_others_queued(
    data_dir: Any, tmp_path: Path, executor: str, seconds: float, queued: int
) -> Iterator[tuple[Engine, Path, list[Path]]]:
    """An engine with one worker process (or one activity thread) busy with run "running"'s
    first step (`seconds` long), and `queued` runs' first steps queued behind it; the
    ledgers their steps write."""
    running, waiting = tmp_path / "running", [tmp_path / f"queued{i}" for i in range(queued)]
    with announcements(tmp_path) as (announce, server):
        engine = _open(data_dir, threads=1)
        engine.start(two_steps, announce, str(running), seconds, executor, workflow_id="running")
        wait_announced(server)
        for i, ledger in enumerate(waiting):
            engine.start(two_steps, "", str(ledger), 0.0, executor, workflow_id=f"queued{i}")
        for i in range(queued):  # each one's attempt is handed to the busy executor
            wait_until(lambda i=i: _scheduled(engine, f"queued{i}"), 10, "the attempt sent")
        yield engine, running, waiting


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_a_drain_starts_no_attempt_queued_behind_a_busy_executor(
    data_dir: Any, tmp_path: Path, executor: str
) -> None:
    """One worker (or thread) runs one attempt at close, three wait behind it: the drain
    waits for the running one alone, and the waiting ones stay scheduled, never started,
    until the next engine runs them (before: each was started during the drain)."""
    with _one_running_others_queued(data_dir, tmp_path, executor, 0.5, 3) as (
        engine,
        running,
        waiting,
    ):
        engine.close(drain=60)
    assert running.read_text().split() == ["first"]
    assert not any(ledger.exists() for ledger in waiting)  # never started
    assert _finish(data_dir, "running") == ["first", "second"]
    for i, ledger in enumerate(waiting):
        assert _finish(data_dir, f"queued{i}") == ["first", "second"]
        assert ledger.read_text().split() == ["first", "second"]  # once each


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_a_drain_that_runs_out_counts_only_the_attempts_that_started(
    data_dir: Any, tmp_path: Path, executor: str, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        _one_running_others_queued(data_dir, tmp_path, executor, 1.0, 3) as (engine, _, waiting),
        caplog.at_level(logging.WARNING, logger="aion_actors"),
    ):
        engine.close(drain=0.1)
    assert "1 activity attempt(s) still running after the 0.1 s drain" in caplog.text
    assert not any(ledger.exists() for ledger in waiting)


@contextlib.contextmanager
def _in_first_step(data_dir: Any, tmp_path: Path, seconds: float) -> Iterator[tuple[Engine, Path]]:
    """An engine whose run "w" is in its first step (a thread activity of `seconds`),
    and the ledger its steps write."""
    ledger = tmp_path / "ledger"
    with announcements(tmp_path) as (announce, server):
        engine = _open(data_dir)
        engine.start(two_steps, announce, str(ledger), seconds, "thread", workflow_id="w")
        wait_announced(server)
        yield engine, ledger


def test_a_close_without_drain_leaves_the_running_attempt_to_run_again(
    data_dir: Any, tmp_path: Path
) -> None:
    with _in_first_step(data_dir, tmp_path, 0.5) as (engine, ledger):
        engine.close()  # its outcome, if it comes in time, is not recorded
    assert _finish(data_dir, "w") == ["first", "second"]
    assert ledger.read_text().split() == ["first", "first", "second"]


def test_a_drain_that_runs_out_says_so_and_the_attempt_runs_again(
    data_dir: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        _in_first_step(data_dir, tmp_path, 1.0) as (engine, ledger),
        caplog.at_level(logging.WARNING, logger="aion_actors"),
    ):
        engine.close(drain=0.1)
    assert "1 activity attempt(s) still running after the 0.1 s drain" in caplog.text
    assert _finish(data_dir, "w") == ["first", "second"]
    assert ledger.read_text().split() == ["first", "first", "second"]


@pytest.mark.parametrize("drain", [-1, "5", True, float("nan"), float("inf"), None])
def test_close_refuses_a_drain_that_is_not_seconds_and_stays_open(
    data_dir: Any, tmp_path: Path, drain: Any
) -> None:
    engine = _open(data_dir)
    with pytest.raises(ValueError, match=r"close\(drain="):
        engine.close(drain=drain)
    run = engine.start(two_steps, "", str(tmp_path / "ledger"), 0.0, "thread")
    assert run.result(timeout=30) == ["first", "second"]  # still open, still working
    engine.close()


def test_an_async_engine_drains_as_close_does(data_dir: Any, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"

    async def main(announce: str, server: Any) -> None:
        async with AsyncEngine.open(data_dir, workers=1) as engine:
            await engine.register(*drain_flows.ALL)
            await engine.start(two_steps, announce, str(ledger), 0.5, "thread", workflow_id="w")
            await asyncio.get_running_loop().run_in_executor(None, wait_announced, server)
            with pytest.raises(ValueError, match="drain"):
                await engine.aclose(drain=-1)
            await engine.aclose(drain=60)

    with announcements(tmp_path) as (announce, server):
        asyncio.run(main(announce, server))
    assert ledger.read_text().split() == ["first"]
    assert _finish(data_dir, "w") == ["first", "second"]
    assert ledger.read_text().split() == ["first", "second"]
