"""`async def` activities: on one shared event loop thread for the thread executor, on a
loop in each worker process for the process executor, with the same retries, timeouts
(which cancel the coroutine), cancellation and idempotency keys as plain ones.
Real engine, LMDB, worker processes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors import Engine, WorkflowFailed
from tests.workers import async_activities as aa
from tests.workers import flows
from tests.workers.helpers import WAIT, wait_until

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = Engine.open(tmp_path / "data", workers=1, threads=2)
    engine.register(flows.call, aa.gather_on_thread, aa.flaky_on_thread, aa.hang_on_thread)
    engine.register(aa.flaky_in_process)
    yield engine
    engine.close()


def test_many_async_activities_wait_together_on_one_loop_thread_beyond_the_thread_count(
    engine: Engine,
) -> None:
    aa.reset_gather()
    runs = 24  # the engine has 2 activity threads: only a shared loop lets 24 wait at once
    handles = engine.start_many(flows.call, [("gather", runs)] * runs)
    names = {handle.result(timeout=WAIT) for handle in handles}
    assert names == {"aion-activity-loop"}


def test_a_failing_async_activity_is_retried_with_one_idempotency_key(
    engine: Engine, tmp_path: Path
) -> None:
    marker = tmp_path / "attempts"
    result = engine.start(flows.call, "flaky", str(marker)).result(timeout=WAIT)
    lines = marker.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["1", "2", "3"]
    assert {line.split()[1] for line in lines} == {result["key"]}
    assert result["attempt"] == 3


def test_an_async_activity_timeout_cancels_its_coroutine_and_retries(
    engine: Engine, tmp_path: Path
) -> None:
    marker = tmp_path / "cancelled"
    handle = engine.start(flows.call, "hang", str(marker))
    with pytest.raises(WorkflowFailed) as failed:
        handle.result(timeout=WAIT)
    assert "AttemptTimeout" in str(failed.value)
    wait_until(lambda: marker.exists() and marker.read_text().count("cancelled") == 2)


def test_cancelling_the_workflow_cancels_its_async_activity_coroutine(
    engine: Engine, tmp_path: Path
) -> None:
    marker = tmp_path / "cancelled"
    handle = engine.start(flows.call, "hang", str(marker))
    wait_until(
        lambda: any(e.kind == "ActivityScheduled" for e in engine.history(handle.workflow_id))
    )
    engine.cancel(handle.workflow_id)
    with pytest.raises(WorkflowFailed):
        handle.result(timeout=WAIT)
    wait_until(lambda: marker.exists() and "cancelled" in marker.read_text())


def test_an_async_activity_on_the_process_executor_runs_in_a_worker_and_is_retried(
    engine: Engine, tmp_path: Path
) -> None:
    marker = tmp_path / "attempts"
    result = engine.start(flows.call, "flaky_p", str(marker)).result(timeout=WAIT)
    assert result["attempt"] == 3
    assert result["pid"] != os.getpid()
    assert len(marker.read_text().splitlines()) == 3
