"""A run alone in the engine commits in its actor's thread (no hand-off to the
recorder's writer and back), takes its activities' outcomes in on their own threads
(no hand-off to a dispatcher thread), and still acts only on what is committed."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors import Engine, WorkflowContext, activity, workflow
from aion_actors.store import LmdbStore
from tests.runtime.watched_store import Watched

_STORE: list[LmdbStore] = []


@activity(executor="thread")
def sees_its_schedule(workflow_id: str, value: int) -> int:
    """Fails unless this attempt's `ActivityScheduled` is committed before it runs."""
    store = _STORE[0]
    run = store.latest_run(workflow_id)
    assert run is not None
    scheduled = [e for e in store.read(workflow_id, run.run_id) if e.kind == "ActivityScheduled"]
    assert len(scheduled) == value + 1, "an activity ran before its schedule was committed"
    return value + 1


@workflow
async def three_alone(ctx: WorkflowContext, workflow_id: str) -> int:
    value = 0
    for _ in range(3):
        value = await ctx.activity(sees_its_schedule, workflow_id, value)
    return value


@pytest.mark.timeout(60)
def test_a_lone_run_commits_in_the_thread_that_runs_its_turn_and_acts_only_on_what_is_committed(
    tmp_path: Path,
) -> None:
    with LmdbStore(tmp_path / "data") as store:
        watched = Watched(store)
        _STORE[:] = [store]
        engine = Engine(watched, workers=1)
        try:
            engine.register(three_alone, sees_its_schedule)
            watched.commits.clear()
            assert engine.start(three_alone, "w", workflow_id="w").result(timeout=30) == 3
        finally:
            engine.close()
    assert [kinds for _, kinds in watched.commits] == [
        ["WorkflowStarted", "ActivityScheduled"],
        ["ActivityCompleted", "ActivityScheduled"],
        ["ActivityCompleted", "ActivityScheduled"],
        ["ActivityCompleted", "WorkflowCompleted"],
    ]
    threads = [thread for thread, _ in watched.commits]
    # never the recorder's writer: the start in a dispatcher thread; an outcome in
    # whichever runs the run's turn (see test_lent_turns: the activity's own thread
    # once the dispatcher is quiet)
    assert threads[0].startswith("aion-run"), threads
    assert all(t.startswith(("aion-run", "aion-activity")) for t in threads[1:]), threads
