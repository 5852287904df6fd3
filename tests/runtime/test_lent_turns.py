"""An activity's outcome reaches an idle engine's run without a thread hop: the
activity's own thread runs the run's turn (commit included), and what the run
does next is unchanged — record, then act."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from aion_actors import Engine, WorkflowContext, activity, workflow
from aion_actors.core import AionError, Event
from aion_actors.store import AppendRequest, LmdbStore

#: where the workflow's code ran after each of its awaits
_AFTER: list[str] = []


class _Watched:
    """The real store; notes which thread committed which events."""

    def __init__(self, store: LmdbStore) -> None:
        self.store = store
        self.commits: list[tuple[str, list[str]]] = []

    def append_batch(self, requests: Sequence[AppendRequest]) -> list[list[Event] | AionError]:
        kinds = [e.kind for request in requests for e in request.events]
        self.commits.append((threading.current_thread().name, kinds))
        return self.store.append_batch(requests)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


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
        watched = _Watched(store)
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
