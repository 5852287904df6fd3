"""`engine.reset`: a new run goes on from a prefix of the old one's history."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import pytest

from aion_actors import (
    AionError,
    Engine,
    OperationRefused,
    Queue,
    WorkflowFailed,
    WorkflowStatus,
)
from aion_actors.core import events as ev
from aion_actors.handles import RunHandle
from aion_actors.store import LmdbStore
from tests.crashes import kill_engine
from tests.runtime import ops_flows
from tests.workers.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]


def _seqs(history: list[ev.Event], kind: type[ev.Event]) -> list[int]:
    return [e.seq for e in history if isinstance(e, kind)]


@pytest.mark.timeout(60)
def test_a_run_failed_on_its_third_activity_completes_after_reset_without_rerunning_the_first_two(
    ops: Engine, tmp_path: Path
) -> None:
    ledger = str(tmp_path / "ledger")
    failed = ops.start("three_steps", ledger, workflow_id="ops")
    with pytest.raises(WorkflowFailed, match="step 3 is broken"):
        failed.result(timeout=10)
    old = ops.history("ops")
    second_done = _seqs(old, ev.ActivityCompleted)[1]

    ops.register(ops_flows.step_fixed, replace=True)
    new = ops.reset("ops", second_done, "step 3 fixed")
    assert new.run_id != failed.run_id
    assert new.result(timeout=10) == 6
    assert ops.result("ops", timeout=10) == 6
    assert ops_flows.ran(ledger) == ["step 1", "step 2", "step 3", "step 3"]

    history = ops.history("ops")
    started = history[0]
    assert isinstance(started, ev.WorkflowStarted) and started.run_id == new.run_id
    assert started.reset_from is not None
    assert started.reset_from["run_id"] == failed.run_id
    assert (started.reset_from["seq"], started.reset_from["reason"]) == (
        second_done,
        "step 3 fixed",
    )
    assert history[1:second_done] == old[1:second_done]  # the prefix keeps its seqs and times
    assert ops.history("ops", failed.run_id) == old  # nothing appended to the closed run
    description = ops.describe("ops")
    assert (description.run_id, description.status) == (new.run_id, WorkflowStatus.COMPLETED)


@pytest.mark.timeout(60)
def test_reset_refuses_a_seq_that_is_no_reset_point_naming_the_nearest_and_records_nothing(
    ops: Engine, tmp_path: Path
) -> None:
    failed = ops.start("three_steps", str(tmp_path / "ledger"), workflow_id="ops")
    with pytest.raises(WorkflowFailed):
        failed.result(timeout=10)
    history = ops.history("ops")
    scheduled = _seqs(history, ev.ActivityScheduled)[1]
    done = _seqs(history, ev.ActivityCompleted)
    with pytest.raises(OperationRefused) as refused:
        ops.reset("ops", scheduled, "a command")
    message = str(refused.value)
    assert f"seq {scheduled} is a ActivityScheduled" in message
    assert f"{done[0]} (ActivityCompleted), {done[1]} (ActivityCompleted)" in message
    with pytest.raises(OperationRefused, match="not in its history"):
        ops.reset("ops", 999)
    assert [r.run_id for r in ops.list_runs()] == [failed.run_id]


@pytest.mark.timeout(60)
def test_reset_of_an_open_run_waiting_on_a_signal_closes_it_and_goes_on_in_a_new_run(
    ops: Engine, tmp_path: Path
) -> None:
    ledger = str(tmp_path / "ledger")
    old = ops.start("waits_then_steps", ledger, workflow_id="ops")
    wait_until(
        lambda: (
            "TimerStarted" in [e.kind for e in ops.history("ops")]
            or any(isinstance(e, ev.ActivityCompleted) for e in ops.history("ops"))
        ),
        10,
        "step 1",
    )
    done = _seqs(ops.history("ops"), ev.ActivityCompleted)[0]
    new = ops.reset("ops", done, "retry the wait")

    closed = ops.history("ops", old.run_id)
    assert isinstance(closed[-1], ev.WorkflowReset)
    assert (closed[-1].next_run_id, closed[-1].to_seq) == (new.run_id, done)
    assert ops.describe("ops").run_id == new.run_id
    assert [r.status for r in ops.list_runs()].count(WorkflowStatus.RUNNING) == 1
    ops.signal("ops", "go", "g")
    assert old.result(timeout=10) == [1, "g", 2]  # the old run's result follows the reset
    assert ops_flows.ran(ledger) == ["step 1", "step 2"]


@pytest.mark.timeout(60)
def test_signals_received_after_the_reset_point_are_applied_again_to_the_new_run(
    ops: Engine, tmp_path: Path
) -> None:
    ledger = str(tmp_path / "ledger")
    ops.start("signals_while_waiting", ledger, workflow_id="ops")
    ops.signal("ops", "item", "a")
    new = ops.reset("ops", 1, "from the start")
    kinds = [e.kind for e in ops.history("ops")]
    assert kinds[:2] == ["WorkflowStarted", "SignalReceived"]
    ops.signal("ops", "item", "b")
    assert new.result(timeout=10) == ["a", "b", 9]


def _runs(engine: Engine) -> list[str]:
    return sorted(r.run_id for r in engine.list_runs())


@pytest.mark.timeout(60)
def test_a_queue_run_resets_only_while_open_from_its_dequeue_on_and_keeps_its_one_slot(
    ops: Engine, tmp_path: Path
) -> None:
    queue = Queue("one", concurrency=1)
    ops.register(queue)
    ops.enqueue(queue, "waits_then_steps", str(tmp_path / "ops"), workflow_id="ops")
    ops.enqueue(queue, "waits_then_steps", str(tmp_path / "next"), workflow_id="next")
    wait_until(lambda: _seqs(ops.history("ops"), ev.ActivityCompleted) != [], 10, "step 1")
    history, runs = ops.history("ops"), _runs(ops)
    dequeued = _seqs(history, ev.RunDequeued)[0]
    with pytest.raises(OperationRefused, match=rf"until seq {dequeued} \(RunDequeued\)"):
        ops.reset("ops", 1, "before its slot")
    assert (ops.history("ops"), _runs(ops)) == (history, runs)  # nothing recorded

    done = _seqs(history, ev.ActivityCompleted)[0]
    new = ops.reset("ops", done, "from step 1")  # it takes over the old run's slot
    assert ops.describe("next").status is WorkflowStatus.QUEUED
    ops.signal("ops", "go", "g")
    assert new.result(timeout=10) == [1, "g", 2]
    wait_until(lambda: ops.describe("next").status is WorkflowStatus.RUNNING, 10, "next")

    closed, runs = ops.history("ops"), _runs(ops)
    with pytest.raises(OperationRefused, match="has closed, its slot given back"):
        ops.reset("ops", done, "after it closed")  # it would run beside "next"
    assert (ops.history("ops"), _runs(ops)) == (closed, runs)
    assert ops.describe("ops").status is WorkflowStatus.COMPLETED


def _latest(data: Path) -> list[ev.Event]:
    try:
        with LmdbStore(data, readonly=True) as store:
            run = store.latest_run("ops")
            return store.read("ops", run.run_id) if run else []
    except AionError:  # the engine has not created the directory yet
        return []


@pytest.mark.timeout(120)
def test_a_reset_killed_between_closing_the_old_run_and_writing_the_new_is_finished_on_reopen(
    tmp_path: Path,
) -> None:
    data, ledger = tmp_path / "data", str(tmp_path / "ledger")
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.runtime.ops_child", str(data), "reset", ledger],
        cwd=ROOT,
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    try:
        child.wait(60)  # fault point `reset` kills it
    finally:
        with contextlib.suppress(ProcessLookupError):  # its whole group may be gone already
            kill_engine(child)
    old = _latest(data)
    assert isinstance(old[-1], ev.WorkflowReset)  # closed, and its new run never written

    with Engine.open(data, workers=1) as engine:
        engine.register(*ops_flows.ALL)  # recovery writes the new run once its type is known
        wait_until(lambda: len(engine.list_runs()) == 2, 10, "the new run to be written")
        runs = engine.list_runs()
        assert sorted(r.status for r in runs) == [WorkflowStatus.RESET, WorkflowStatus.RUNNING]
        description = engine.describe("ops")
        assert description.run_id == old[-1].next_run_id
        started = engine.history("ops")[0]
        assert isinstance(started, ev.WorkflowStarted) and started.reset_from is not None
        engine.signal("ops", "go", "g")
        assert RunHandle(engine, "ops", old[0].run_id).result(timeout=30) == [1, "g", 2]
    assert ops_flows.ran(ledger) == ["step 1", "step 2"]
