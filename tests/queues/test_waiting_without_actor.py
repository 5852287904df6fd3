"""A run waiting in a queue holds no actor: its enqueue commits its opening without one,
and whatever reaches it (a signal, a cancel, a query, its slot) brings it back by replay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aion_actors import Engine, QueryError, Queue, WorkflowCancelled, WorkflowStatus
from aion_actors.core import RunKey
from aion_actors.runtime.runs import RunManager
from aion_actors.store import Recorder
from tests.queues import flows
from tests.queues.queue_child import enqueuing
from tests.workers.helpers import wait_until


def _kinds(engine: Engine, workflow_id: str) -> list[str]:
    return [e.kind for e in engine.history(workflow_id)]


def _batches(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[list[str]]]:
    """The kinds of each batch appended for each workflow_id, from now on."""
    batches: dict[str, list[list[str]]] = {}
    real = Recorder.append_then

    def noted(self: Recorder, workflow_id: str, run_id: str, events: Any, *a: Any, **k: Any) -> Any:
        batches.setdefault(workflow_id, []).append([e.kind for e in events])
        return real(self, workflow_id, run_id, events, *a, **k)

    monkeypatch.setattr(Recorder, "append_then", noted)
    return batches


@pytest.mark.timeout(60)
def test_waiting_runs_hold_no_actor_and_cost_three_appends_dequeue_and_first_step_in_one(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = str(tmp_path / "ledger")
    batches = _batches(monkeypatch)
    engine.register(Queue("narrow", concurrency=1))
    first = engine.enqueue("narrow", flows.held, workflow_id="first")
    waiting = [engine.enqueue("narrow", flows.paced, ledger, workflow_id=f"w{i}") for i in range(5)]
    wait_until(lambda: engine.stats()["resident"] == 1, 10, "the running run's actor alone")
    for handle in waiting:
        assert engine.describe(handle.workflow_id).residency == "evicted"
        assert engine.describe(handle.workflow_id).status is WorkflowStatus.QUEUED

    engine.signal("first", "go", "first")
    assert first.result(timeout=20) == "first"
    assert [h.result(timeout=20) for h in waiting] == [h.workflow_id for h in waiting]
    assert flows.noted(ledger) == [h.workflow_id for h in waiting]  # in order, each once
    for handle in waiting:
        assert batches[handle.workflow_id] == [
            ["WorkflowStarted", "WorkflowQueued"],
            ["RunDequeued", "ActivityScheduled"],
            ["ActivityCompleted", "WorkflowCompleted"],
        ]


@pytest.mark.timeout(60)
def test_a_waiting_run_without_an_actor_answers_query_and_cancel_and_stays_queued(
    engine: Engine,
) -> None:
    engine.register(Queue("narrow", concurrency=1))
    engine.enqueue("narrow", flows.held, workflow_id="first")
    asked = engine.enqueue("narrow", flows.quick, 1, workflow_id="asked")
    cancelled = engine.enqueue("narrow", flows.quick, 2, workflow_id="cancelled")
    signalled = engine.enqueue("narrow", flows.held, workflow_id="signalled")
    wait_until(lambda: engine.stats()["resident"] == 1, 10, "the running run's actor alone")

    with pytest.raises(QueryError):  # its code has not run: no handler yet (as with an actor)
        engine.query("asked", "stage")
    assert engine.describe("asked").status is WorkflowStatus.QUEUED
    engine.cancel("cancelled", reason="not needed")
    assert engine.describe("cancelled").status is WorkflowStatus.CANCELLED
    assert "RunDequeued" not in _kinds(engine, "cancelled")
    with pytest.raises(WorkflowCancelled):
        cancelled.result(timeout=5)
    engine.signal("signalled", "go", "while queued")
    assert _kinds(engine, "signalled") == ["WorkflowStarted", "WorkflowQueued", "SignalReceived"]

    engine.signal("first", "go", "done")
    assert asked.result(timeout=20) == 1
    assert signalled.result(timeout=20) == "while queued"  # seen once its code ran
    assert _kinds(engine, "asked").count("RunDequeued") == 1
    assert engine.stats()["queued"] == 0


@pytest.mark.timeout(180)
def test_runs_waiting_without_an_actor_come_back_queued_after_a_sigkill_and_start_once(
    tmp_path: Path,
) -> None:
    data, ledger, runs = tmp_path / "data", str(tmp_path / "ledger"), 40
    with enqueuing(data, ledger, runs):
        pass

    ids = [f"run-{i:03d}" for i in range(runs)]
    with Engine.open(data, workers=1) as engine:
        engine.register(*flows.ALL)  # (not the queue yet: nothing is dispatched)
        kinds = {w: _kinds(engine, w) for w in ids}
        waiting = [w for w in ids if "RunDequeued" not in kinds[w]]
        assert len(waiting) > 10, "the kill came too late to leave runs queued"
        for workflow_id in waiting:
            assert kinds[workflow_id] == ["WorkflowStarted", "WorkflowQueued"]
            assert engine.describe(workflow_id).status is WorkflowStatus.QUEUED
        engine.register(flows.PACED_QUEUE)
        assert [engine.result(w, timeout=60) for w in ids] == ids
        assert all(_kinds(engine, w).count("RunDequeued") == 1 for w in ids)
    assert set(flows.noted(ledger)) == set(ids)


@pytest.mark.timeout(60)
def test_a_waiting_run_replaced_by_terminate_existing_ends_unrun_and_its_successor_waits(
    engine: Engine,
) -> None:
    engine.register(Queue("narrow", concurrency=1))
    first = engine.enqueue("narrow", flows.held, workflow_id="first")
    old = engine.enqueue("narrow", flows.quick, 1, workflow_id="w")
    new = engine.enqueue("narrow", flows.quick, 2, workflow_id="w", if_open="terminate_existing")
    assert new.run_id != old.run_id
    assert [e.kind for e in engine.history("w", run_id=old.run_id)] == [
        "WorkflowStarted",
        "WorkflowQueued",
        "WorkflowTerminated",
    ]  # ended without an actor: its code never ran
    kept = engine._parts.runs._residency._kept  # noqa: SLF001 - the replay it never needed
    assert RunKey("w", old.run_id) not in kept
    assert engine.describe("w").status is WorkflowStatus.QUEUED
    engine.signal("first", "go", "done")
    assert first.result(timeout=20) == "done" and new.result(timeout=20) == 2


@pytest.mark.timeout(60)
def test_a_run_of_a_free_key_while_only_runs_of_full_keys_wait_starts_in_its_enqueue_commit(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches = _batches(monkeypatch)
    engine.register(Queue("q", concurrency=10, per_key=1))
    for workflow_id in ("a0", "a1", "b0"):  # a1 waits for a0: key "a" is full
        engine.enqueue("q", flows.held, workflow_id=workflow_id, key=workflow_id[0])
    assert engine.describe("b0").status is WorkflowStatus.RUNNING  # at once, not later
    assert batches["b0"][0][:3] == ["WorkflowStarted", "WorkflowQueued", "RunDequeued"]
    assert engine.describe("a1").status is WorkflowStatus.QUEUED
    for workflow_id in ("a0", "a1", "b0"):
        engine.signal(workflow_id, "go", workflow_id)
        assert engine.result(workflow_id, timeout=20) == workflow_id


@pytest.mark.timeout(60)
def test_a_run_brought_back_for_its_slot_reports_idle_once_after_its_dequeue_not_after_replay(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its replay leaves it idle (still queued) but its `DequeueRequest` waits in its inbox:
    the replay's turn reports nothing (an idle report the next turn takes back costs the
    evictor two calls and maybe a wake-up); the run reports idle once it waits for a signal."""
    reports: list[bool] = []
    real = RunManager.run_idle

    def noted(self: RunManager, key: RunKey, idle: bool) -> None:
        if key.workflow_id == "second":
            reports.append(idle)
        real(self, key, idle)

    monkeypatch.setattr(RunManager, "run_idle", noted)
    engine.register(Queue("narrow", concurrency=1))
    engine.enqueue("narrow", flows.held, workflow_id="first")
    second = engine.enqueue("narrow", flows.held, workflow_id="second")
    engine.signal("first", "go", "done")
    wait_until(lambda: reports == [True], 10, "the dequeued run to wait for its signal")
    engine.signal("second", "go", "done")
    assert second.result(timeout=20) == "done"
    assert reports[0] is True and "RunDequeued" in _kinds(engine, "second")
