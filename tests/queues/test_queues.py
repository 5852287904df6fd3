"""Queues: a queued run starts when its queue (and its key) has a free slot, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from aion_actors import (
    Engine,
    OperationRefused,
    Queue,
    QueueDuplicate,
    WorkflowFailed,
    WorkflowStatus,
)
from aion_actors.aio import AsyncEngine
from tests.queues import flows
from tests.queues.history import interval, most_at_once, start_order
from tests.workers.helpers import wait_until


def _kinds(engine: Engine, workflow_id: str) -> list[str]:
    return [e.kind for e in engine.history(workflow_id)]


@pytest.mark.timeout(30)
def test_a_run_given_a_free_slot_records_queued_and_dequeued_in_its_first_commit(
    engine: Engine,
) -> None:
    engine.register(Queue("q", concurrency=2))
    handle = engine.enqueue("q", flows.quick, 4, workflow_id="a")
    assert handle.result(timeout=10) == 4
    assert _kinds(engine, "a") == [
        "WorkflowStarted",
        "WorkflowQueued",
        "RunDequeued",
        "WorkflowCompleted",
    ]


@pytest.mark.timeout(60)
def test_concurrency_is_never_exceeded_and_every_run_starts_once(engine: Engine) -> None:
    engine.register(Queue("q", concurrency=3))
    ids = [f"r{i}" for i in range(30)]
    for workflow_id in ids:
        engine.enqueue("q", flows.held, workflow_id=workflow_id)
    assert sum(engine.describe(w).status is WorkflowStatus.RUNNING for w in ids) == 3
    assert sum(engine.describe(w).status is WorkflowStatus.QUEUED for w in ids) == 27
    for workflow_id in ids:  # each one it lets go frees a slot for the next
        wait_until(
            lambda w=workflow_id: engine.describe(w).status is WorkflowStatus.RUNNING,
            10,
            f"{workflow_id} to start",
        )
        engine.signal(workflow_id, "go", 1)
    for workflow_id in ids:
        engine.result(workflow_id, timeout=10)
    spans = [interval(engine.history(w)) for w in ids]
    assert all(span is not None for span in spans)
    assert most_at_once([s for s in spans if s is not None]) == 3
    assert all(_kinds(engine, w).count("RunDequeued") == 1 for w in ids)


@pytest.mark.timeout(60)
def test_keys_take_turns_so_a_small_key_starts_within_the_first_ten_starts(
    engine: Engine,
) -> None:
    engine.register(Queue("q", concurrency=1))
    engine.enqueue("q", flows.held, workflow_id="gate", key="gate")  # holds the one slot
    big = [f"big{i}" for i in range(100)]
    small = [f"small{i}" for i in range(5)]
    for workflow_id in big:
        engine.enqueue("q", flows.quick, workflow_id=workflow_id, key="big")
    for workflow_id in small:
        engine.enqueue("q", flows.quick, workflow_id=workflow_id, key="small")
    engine.signal("gate", "go")
    for workflow_id in big + small:
        engine.result(workflow_id, timeout=30)
    order = start_order(engine, ["gate", *big, *small])
    assert order[0] == "gate"
    assert set(small) <= set(order[1:11])  # the first ten starts after the gate
    assert [w for w in order if w.startswith("big")] == big  # FIFO within a key


@pytest.mark.timeout(60)
def test_per_key_bounds_each_keys_running_runs(engine: Engine) -> None:
    engine.register(Queue("q", concurrency=10, per_key=2))
    ids = [f"a{i}" for i in range(4)] + [f"b{i}" for i in range(4)]
    for workflow_id in ids:
        engine.enqueue("q", flows.held, workflow_id=workflow_id, key=workflow_id[0])
    running = [w for w in ids if engine.describe(w).status is WorkflowStatus.RUNNING]
    assert running == ["a0", "a1", "b0", "b1"]
    engine.signal("a0", "go")
    wait_until(lambda: engine.describe("a2").status is WorkflowStatus.RUNNING, 10, "a2")
    assert engine.describe("b2").status is WorkflowStatus.QUEUED


@pytest.mark.timeout(60)
def test_higher_priority_starts_first_and_fifo_within_a_priority(engine: Engine) -> None:
    engine.register(Queue("q", concurrency=1, priority=True))
    engine.enqueue("q", flows.held, workflow_id="gate")
    given = [("p1", 1), ("p5a", 5), ("p3", 3), ("p5b", 5), ("p0", 0)]
    for workflow_id, priority in given:
        engine.enqueue("q", flows.quick, workflow_id=workflow_id, priority=priority)
    engine.signal("gate", "go")
    for workflow_id, _ in given:
        engine.result(workflow_id, timeout=10)
    assert start_order(engine, [w for w, _ in given]) == ["p5a", "p5b", "p3", "p1", "p0"]


@pytest.mark.timeout(30)
def test_a_priority_on_a_queue_without_priorities_is_refused(engine: Engine) -> None:
    engine.register(Queue("plain", concurrency=1))
    with pytest.raises(ValueError, match="priority=True"):
        engine.enqueue("plain", flows.quick, priority=3)
    with pytest.raises(ValueError, match="not registered"):
        engine.enqueue("nowhere", flows.quick)


@pytest.mark.timeout(30)
def test_a_dedup_id_gives_the_first_runs_handle_while_it_is_queued_or_running(
    engine: Engine,
) -> None:
    engine.register(Queue("q", concurrency=1))
    engine.enqueue("q", flows.held, workflow_id="gate")
    first = engine.enqueue("q", flows.quick, 1, dedup_id="order-7")
    again = engine.enqueue("q", flows.quick, 2, dedup_id="order-7")
    assert (again.workflow_id, again.run_id) == (first.workflow_id, first.run_id)
    with pytest.raises(QueueDuplicate, match="order-7"):
        engine.enqueue("q", flows.quick, 3, dedup_id="order-7", on_duplicate="raise")
    engine.signal("gate", "go")
    assert first.result(timeout=10) == 1
    later = engine.enqueue("q", flows.quick, 4, dedup_id="order-7")  # the first has closed
    assert later.workflow_id != first.workflow_id
    assert later.result(timeout=10) == 4


def _cancel_async(engine: Engine, workflow_id: str, reason: str) -> None:
    asyncio.run(AsyncEngine(engine).cancel(workflow_id, reason, timeout=10))


@pytest.mark.timeout(30)
@pytest.mark.parametrize("cancel", [Engine.cancel, _cancel_async], ids=["engine", "async"])
def test_a_run_cancelled_while_queued_ends_cancelled_without_running_its_code(
    engine: Engine, tmp_path: Path, cancel: Callable[[Engine, str, str], None]
) -> None:
    ledger = str(tmp_path / "ledger")
    engine.register(Queue("q", concurrency=1))
    engine.enqueue("q", flows.held, workflow_id="gate")
    engine.enqueue("q", flows.held, ledger, workflow_id="x")
    engine.enqueue("q", flows.held, ledger, workflow_id="y")
    cancel(engine, "x", "not needed")
    assert engine.describe("x").status is WorkflowStatus.CANCELLED
    assert _kinds(engine, "x") == ["WorkflowStarted", "WorkflowQueued", "WorkflowCancelled"]
    with pytest.raises(WorkflowFailed):
        engine.result("x", timeout=5)
    engine.signal("gate", "go")
    wait_until(lambda: flows.noted(ledger) == ["y"], 10, "y to start in x's place")
    assert engine.describe("y").status is WorkflowStatus.RUNNING


@pytest.mark.timeout(30)
def test_a_queued_run_cannot_be_reset_records_nothing_and_the_concurrency_still_holds(
    engine: Engine,
) -> None:
    engine.register(Queue("q", concurrency=1))
    for workflow_id in "abc":
        engine.enqueue("q", flows.held, workflow_id=workflow_id)
    before = engine.history("b")
    with pytest.raises(OperationRefused, match="is queued: its code has not started") as reset:
        engine.reset("b", 1)
    with pytest.raises(OperationRefused) as paused:
        engine.pause("b")
    assert str(reset.value) == str(paused.value)  # refused in pause's words
    assert engine.history("b") == before  # nothing recorded, no new run
    assert len(engine.list_runs()) == 3
    statuses = [engine.describe(w).status for w in "abc"]
    assert statuses == [WorkflowStatus.RUNNING, WorkflowStatus.QUEUED, WorkflowStatus.QUEUED]
    for workflow_id in "abc":  # each one let go frees the one slot for the next
        wait_until(
            lambda w=workflow_id: engine.describe(w).status is WorkflowStatus.RUNNING,
            10,
            f"{workflow_id} to start",
        )
        engine.signal(workflow_id, "go", 1)
        engine.result(workflow_id, timeout=10)
    spans = [interval(engine.history(w)) for w in "abc"]
    assert most_at_once([s for s in spans if s is not None]) == 1
    assert start_order(engine, list("cba")) == ["a", "b", "c"]


@pytest.mark.timeout(30)
def test_a_start_policy_applies_to_enqueue(engine: Engine) -> None:
    engine.register(Queue("q", concurrency=1))
    first = engine.enqueue("q", flows.held, workflow_id="w")
    again = engine.enqueue("q", flows.held, workflow_id="w", if_open="use_existing")
    assert again.run_id == first.run_id


@pytest.mark.timeout(60)
def test_queued_runs_stay_queued_across_a_restart_and_the_limit_still_holds(
    tmp_path: Path,
) -> None:
    queue = Queue("q", concurrency=1)
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(*flows.ALL, queue)
        engine.enqueue(queue, flows.held, workflow_id="gate")
        for i in range(3):
            engine.enqueue(queue, flows.quick, i, workflow_id=f"q{i}")
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(*flows.ALL)
        assert engine.describe("q0").status is WorkflowStatus.QUEUED  # no queue yet
        engine.register(queue)
        assert [engine.describe(f"q{i}").status for i in range(3)] == [WorkflowStatus.QUEUED] * 3
        engine.signal("gate", "go")
        assert [engine.result(f"q{i}", timeout=10) for i in range(3)] == [0, 1, 2]
        spans = [interval(engine.history(w)) for w in ("gate", "q0", "q1", "q2")]
        assert most_at_once([s for s in spans if s is not None]) == 1
        assert start_order(engine, ["q2", "q0", "q1"]) == ["q0", "q1", "q2"]
