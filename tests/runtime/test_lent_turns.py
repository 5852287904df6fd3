"""An activity's outcome reaches an idle engine's run without a thread hop: the
activity's own thread runs the run's turn (commit included), and what the run
does next is unchanged — record, then act."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from aion_actors import Engine, WorkflowContext, activity, workflow
from aion_actors.store import LmdbStore
from tests.runtime.watched_store import Watched

#: where the workflow's code ran after each of its awaits
_AFTER: list[str] = []


@activity(executor="thread")
def slow_bump(value: int) -> int:
    time.sleep(0.03)  # long enough for the run's turn that dispatched it to have ended
    return value + 1


@workflow
async def two_slow(ctx: WorkflowContext, value: int) -> int:
    for _ in range(2):
        value = await ctx.activity(slow_bump, value)
        _AFTER.append(threading.current_thread().name)
    return value


@pytest.mark.timeout(60)
def test_an_idle_engine_takes_an_activitys_outcome_in_on_the_activitys_own_thread(
    tmp_path: Path,
) -> None:
    with LmdbStore(tmp_path / "data") as store:
        watched = Watched(store)
        engine = Engine(watched, workers=1)
        try:
            engine.register(two_slow, slow_bump)
            _AFTER.clear()
            watched.commits.clear()
            assert engine.start(two_slow, 1, workflow_id="w").result(timeout=30) == 3
        finally:
            engine.close()
    assert [kinds for _, kinds in watched.commits] == [
        ["WorkflowStarted", "ActivityScheduled"],
        ["ActivityCompleted", "ActivityScheduled"],
        ["ActivityCompleted", "WorkflowCompleted"],
    ]
    threads = [thread for thread, _ in watched.commits]
    assert threads[0].startswith("aion-run"), threads
    assert all(t.startswith("aion-activity") for t in threads[1:]), threads
    assert all(t.startswith("aion-activity") for t in _AFTER), _AFTER
