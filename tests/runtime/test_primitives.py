"""Durable timers, signals, queries, children, cancellation and continue-as-new on LMDB."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from aion_actors import (
    Engine,
    QueryError,
    WorkflowClosed,
    WorkflowFailed,
    WorkflowNotFound,
    WorkflowStatus,
)
from aion_actors.core import events as ev
from tests.runtime import prims
from tests.workers.helpers import wait_until

ON_POSTGRES = True  # every test that takes `engine` runs on Postgres too


@pytest.fixture
def engine(engine: Engine) -> Engine:
    engine.register(*prims.ALL)
    return engine


def _kinds(engine: Engine, workflow_id: str) -> list[str]:
    return [e.kind for e in engine.history(workflow_id)]


def test_durable_timer_fires_once(engine: Engine) -> None:
    assert engine.start(prims.sleeper, 0.2, workflow_id="nap").result(timeout=30) == "True"
    kinds = _kinds(engine, "nap")
    assert kinds.count("TimerStarted") == 1 and kinds.count("TimerFired") == 1


def test_signal_sent_before_the_wait_is_kept(engine: Engine) -> None:
    run = engine.start(prims.two_waits, workflow_id="early")
    engine.signal("early", "item", 1)
    engine.signal("early", "item", {"n": 2})
    assert run.result(timeout=30) == [1, {"n": 2}]


def test_two_waits_consume_two_signals_in_order(engine: Engine) -> None:
    run = engine.start(prims.two_waits, workflow_id="ordered")
    wait_until(lambda: engine.describe("ordered").residency == "resident", 10, "resident")
    for i in range(2):
        engine.signal("ordered", "item", i)
    assert run.result(timeout=30) == [0, 1]


def test_wait_signal_timeout(engine: Engine) -> None:
    assert engine.start(prims.waits_with_timeout, 0.1).result(timeout=30) == "timed out"
    run = engine.start(prims.waits_with_timeout, 30.0, workflow_id="approved")
    engine.signal("approved", "approve", "yes")
    assert run.result(timeout=30) == "yes"
    kinds = _kinds(engine, "approved")
    assert "TimerCancelled" in kinds and "TimerFired" not in kinds


def test_signal_to_a_closed_or_unknown_workflow_records_nothing(engine: Engine) -> None:
    engine.start(prims.sleeper, 0.0, workflow_id="gone").result(timeout=30)
    before = len(engine.history("gone"))
    with pytest.raises(WorkflowClosed):
        engine.signal("gone", "late", 1)
    assert len(engine.history("gone")) == before
    with pytest.raises(WorkflowNotFound):
        engine.signal("nobody", "hello")


def test_queries_answer_without_recording(engine: Engine) -> None:
    run = engine.start(prims.queryable, workflow_id="q")
    wait_until(lambda: _try_query(engine, "q", "stage") == "waiting", 10, "query")
    assert engine.query("q", "echo", 1, "two") == [1, "two"]
    with pytest.raises(QueryError) as unknown:
        engine.query("q", "nope")
    assert "echo" in str(unknown.value) and "stage" in str(unknown.value)
    before = len(engine.history("q"))
    with pytest.raises(QueryError) as sneaky:
        engine.query("q", "sneaky")
    assert "ctx.sleep" in str(sneaky.value)
    with pytest.raises(QueryError) as broken:
        engine.query("q", "broken")
    assert "'broken'" in str(broken.value) and isinstance(broken.value.__cause__, KeyError)
    assert len(engine.history("q")) == before
    engine.signal("q", "go")
    wait_until(lambda: engine.query("q", "stage") == "done", 10, "stage done")
    engine.signal("q", "finish")
    assert run.result(timeout=30) == "done"


def _try_query(engine: Engine, workflow_id: str, name: str) -> object:
    try:
        return engine.query(workflow_id, name)
    except QueryError:
        return None


def test_child_results_and_failures_reach_the_parent(engine: Engine) -> None:
    assert engine.start(prims.parent, 21, workflow_id="p").result(timeout=30) == [
        42,
        "ChildWorkflowError",
    ]
    history = engine.history("p")
    started = [e for e in history if isinstance(e, ev.ChildStarted)]
    assert len(started) == 2
    child = engine.describe(started[0].child_workflow_id)
    assert child.status == WorkflowStatus.COMPLETED and child.run_id == started[0].child_run_id


def test_cancel_during_an_activity_lets_the_workflow_compensate(
    engine: Engine, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger"
    run = engine.start(prims.compensates, str(ledger), workflow_id="c")
    wait_until(lambda: ledger.exists() and "charged" in ledger.read_text(), 10, "charge")
    engine.cancel("c", "customer changed their mind")
    with pytest.raises(WorkflowFailed) as cancelled:
        run.result(timeout=30)
    assert cancelled.value.status == "cancelled"
    assert ledger.read_text().splitlines() == ["charged", "refunded"]
    kinds = _kinds(engine, "c")
    assert kinds.index("WorkflowCancelRequested") < kinds.index("WorkflowCancelled")


def test_terminate_ends_at_once(engine: Engine) -> None:
    run = engine.start(prims.two_waits, workflow_id="t")
    engine.terminate("t", "operator")
    with pytest.raises(WorkflowFailed) as ended:
        run.result(timeout=30)
    assert ended.value.status == "terminated"
    assert _kinds(engine, "t")[-1] == "WorkflowTerminated"


def test_three_continue_as_new_generations(engine: Engine) -> None:
    run = engine.start(prims.counts_down, 3, [], workflow_id="gen")
    assert run.result(timeout=30) == [3, 2, 1, 0]
    runs = [r for r in engine.list_runs() if r.workflow_id == "gen"]
    assert len(runs) == 4
    assert sorted(r.status for r in runs).count(WorkflowStatus.CONTINUED_AS_NEW) == 3
    latest = engine.describe("gen")
    assert latest.status == WorkflowStatus.COMPLETED
    assert engine.history("gen")[0].input == [0, [3, 2, 1]]


def test_signals_by_workflow_id_reach_a_continue_as_new_chain_each_recorded_once(
    engine: Engine,
) -> None:
    """workflow_id is the chain's key: a signal that meets a run closing as continued-as-new
    is recorded by its successor, never refused, never twice."""
    threads, each = 3, 30
    run = engine.start(prims.adds_up, 0, threads * each, workflow_id="chain")
    refused: list[BaseException] = []

    def client() -> None:
        for _ in range(each):
            try:
                engine.signal("chain", "add", 1)
            except Exception as exc:  # every refusal is the failure
                refused.append(exc)

    clients = [threading.Thread(target=client) for _ in range(threads)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join(timeout=60)
    assert refused == []
    assert run.result(timeout=30) == threads * each  # (its last run's result)
    recorded = [
        e
        for r in engine.list_runs()
        if r.workflow_id == "chain"
        for e in engine.history("chain", r.run_id)
        if isinstance(e, ev.SignalReceived)
    ]
    assert len(recorded) == threads * each


def test_describe_after_an_acknowledged_signal_never_says_continued_as_new(
    engine: Engine,
) -> None:
    """A chain whose run just continued as new is open: describe shows its next run."""
    engine.start(prims.adds_up, 0, 30, workflow_id="chain")
    seen = set()
    for _ in range(29):
        engine.signal("chain", "add", 1)
        seen.add(engine.describe("chain").status)
    assert seen == {WorkflowStatus.RUNNING}
    engine.signal("chain", "add", 1)
    assert engine.result("chain", timeout=30) == 30


def test_cancelling_a_parent_cancels_its_children_unless_abandoned(engine: Engine) -> None:
    run = engine.start(prims.parent_of_two, workflow_id="family")
    wait_until(lambda: _exists(engine, "bound") and _exists(engine, "free"), 10, "children")
    engine.cancel("family", "shop closed")
    with pytest.raises(WorkflowFailed):
        run.result(timeout=30)
    wait_until(
        lambda: engine.describe("bound").status == WorkflowStatus.CANCELLED, 10, "child cancel"
    )
    assert engine.describe("free").status == WorkflowStatus.RUNNING
    engine.signal("free", "value", 3)
    assert engine.result("free", timeout=30) == 3


def _exists(engine: Engine, workflow_id: str) -> bool:
    try:
        engine.describe(workflow_id)
    except WorkflowNotFound:
        return False
    return True
