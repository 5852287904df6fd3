"""The runtime on real LMDB: histories, failures, retries, worker deaths, determinism."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors import (
    Engine,
    PayloadError,
    WorkflowAlreadyStarted,
    WorkflowFailed,
    WorkflowNotFound,
    WorkflowStatus,
)
from aion_actors.core import events as ev
from tests.runtime import flows

ON_POSTGRES = True  # every test that takes `engine` runs on Postgres too


def kinds(events: list[ev.Event]) -> list[str]:
    return [e.kind for e in events]


def test_three_activities_record_the_exact_history(engine: Engine) -> None:
    run = engine.start(flows.three_steps, 1, workflow_id="order-1")
    assert run.result(timeout=30) == 112
    history = engine.history("order-1")
    assert kinds(history) == [
        "WorkflowStarted",
        "ActivityScheduled",
        "ActivityCompleted",
        "ActivityScheduled",
        "ActivityCompleted",
        "ActivityScheduled",
        "ActivityCompleted",
        "WorkflowCompleted",
    ]
    assert [e.seq for e in history] == list(range(1, 9))
    scheduled = [e for e in history if isinstance(e, ev.ActivityScheduled)]
    assert [(e.name, e.input, e.attempt) for e in scheduled] == [
        ("add", [1, 1], 1),
        ("add_in_process", [2, 10], 1),
        ("add", [12, 100], 1),
    ]
    assert [e.result for e in history if isinstance(e, ev.ActivityCompleted)] == [2, 12, 112]
    described = engine.describe("order-1")
    assert described.status == WorkflowStatus.COMPLETED
    assert described.version == flows.three_steps.version and not described.version_changed


def test_workflow_error_fails_at_once_without_restarts(engine: Engine) -> None:
    run = engine.start(flows.gives_up, workflow_id="bad-order")
    with pytest.raises(WorkflowFailed) as failed:
        run.result(timeout=30)
    assert failed.value.error["type"] == "WorkflowError"
    assert "invalid" in failed.value.error["message"]
    history = kinds(engine.history("bad-order"))
    assert "RunCrashed" not in history and history[-1] == "WorkflowFailed"


def test_retryable_activity_failures_are_retried_then_fail_the_run(engine: Engine) -> None:
    run = engine.start(flows.fails_on_activity, "runtime", workflow_id="flaky")
    with pytest.raises(WorkflowFailed) as failed:
        run.result(timeout=30)
    assert failed.value.error["type"] == "ActivityError"
    history = engine.history("flaky")
    attempts = [e.attempt for e in history if isinstance(e, ev.ActivityAttemptFailed)]
    assert attempts == [1, 2]
    assert isinstance(history[-2], ev.ActivityFailed)
    assert history[-2].error["type"] == "RuntimeError"


def test_non_retryable_error_is_not_retried(engine: Engine) -> None:
    run = engine.start(flows.fails_on_activity, "value", workflow_id="invalid")
    with pytest.raises(WorkflowFailed):
        run.result(timeout=30)
    history = engine.history("invalid")
    assert [e.attempt for e in history if isinstance(e, ev.ActivityScheduled)] == [1]
    failed = [e for e in history if isinstance(e, ev.ActivityFailed)]
    assert failed[0].error["type"] == "ValueError"


@pytest.mark.parametrize("how", ["sigkill", "exit"])
def test_a_dying_worker_costs_one_attempt(engine: Engine, tmp_path: Path, how: str) -> None:
    ledger = tmp_path / "ledger"
    run = engine.start(flows.survives_worker_death, str(ledger), how, workflow_id=f"w-{how}")
    assert run.result(timeout=60) == "survived on attempt 2"
    history = engine.history(f"w-{how}")
    failures = [e for e in history if isinstance(e, ev.ActivityAttemptFailed)]
    assert len(failures) == 1 and failures[0].error["type"] == "WorkerCrashed"
    expected = "SIGKILL" if how == "sigkill" else "exit code 1"
    assert expected in failures[0].error["message"]
    assert len(ledger.read_text().splitlines()) == 2


def test_gather_returns_results_in_order(engine: Engine) -> None:
    assert engine.start(flows.gathers).result(timeout=30) == [2, 4]


def test_duplicate_start_names_the_open_run(engine: Engine) -> None:
    first = engine.start(flows.ordered, workflow_id="once")
    with pytest.raises(WorkflowAlreadyStarted) as dup:
        engine.start(flows.ordered, workflow_id="once")
    assert dup.value.run_id == first.run_id and first.run_id in str(dup.value)


def test_bad_payload_is_refused_and_records_nothing(engine: Engine) -> None:
    with pytest.raises(PayloadError) as bad:
        engine.start(flows.three_steps, {"items": [1, {2}]}, workflow_id="never")
    assert 'input[0]["items"][1]: set is not serialisable' in str(bad.value)
    with pytest.raises(WorkflowNotFound):
        engine.describe("never")


def test_awaiting_asyncio_fails_with_advice(engine: Engine) -> None:
    run = engine.start(flows.awaits_asyncio)
    with pytest.raises(WorkflowFailed) as failed:
        run.result(timeout=30)
    assert failed.value.error["type"] == "ForeignAwaitError"
    assert "ctx.sleep" in failed.value.error["message"]


def test_unknown_workflow_raises_not_found(engine: Engine) -> None:
    with pytest.raises(WorkflowNotFound):
        engine.describe("nobody")
    with pytest.raises(WorkflowNotFound):
        engine.history("nobody")


def test_list_runs_includes_closed_runs(engine: Engine) -> None:
    engine.start(flows.three_steps, 1, workflow_id="a").result(timeout=30)
    engine.start(flows.ordered, workflow_id="b")
    statuses = {r.workflow_id: r.status for r in engine.list_runs()}
    assert statuses == {"a": WorkflowStatus.COMPLETED, "b": WorkflowStatus.RUNNING}


def test_close_twice_is_fine(data_dir: Path) -> None:
    engine = Engine.open(data_dir)
    engine.close()
    engine.close()
