"""A client call of the engine from workflow code is refused, naming the ctx command to use.

Workflow code replays: an `engine.start` in it would start a run again on every
replay. Activities may call the engine (they run at least once, by contract),
and so may a done-callback, which runs once, wherever it runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors import Engine, UpdateFailed, WorkflowFailed
from tests.runtime import misuse_flows as flows


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL)
        flows.ENGINE[:] = [engine]
        flows.CRASHED.clear()
        yield engine
    flows.ENGINE.clear()


def _failure(engine: Engine, workflow: object, *args: object) -> dict[str, str]:
    run = engine.start(workflow, *args)  # type: ignore[arg-type]
    with pytest.raises(WorkflowFailed) as failed:
        run.result(timeout=30)
    return failed.value.error


def test_an_engine_call_from_workflow_code_fails_the_run_naming_the_ctx_command_to_use(
    engine: Engine,
) -> None:
    error = _failure(engine, flows.starts_with_the_engine)
    assert error["type"] == "EngineCallInWorkflow"
    assert "engine.start()" in error["message"] and "ctx.child(" in error["message"]
    assert "starts_with_the_engine" in error["message"]
    assert len(engine.list_runs(workflow_type="inner")) == 0  # nothing started, once or twice


def test_waiting_for_a_run_from_workflow_code_names_the_child_commands(engine: Engine) -> None:
    done = engine.start(flows.inner)
    done.result(timeout=30)
    error = _failure(engine, flows.waits_with_the_engine, done.workflow_id)
    assert error["type"] == "EngineCallInWorkflow"
    assert "engine.result()" in error["message"] and "ctx.start_child(" in error["message"]


def test_a_signal_from_workflow_code_names_ctx_external(engine: Engine) -> None:
    error = _failure(engine, flows.signals_with_the_engine, "anyone")
    assert "engine.signal()" in error["message"]
    assert "ctx.external(workflow_id).signal(" in error["message"]


def test_an_async_engine_call_from_workflow_code_is_refused_too(engine: Engine) -> None:
    error = _failure(engine, flows.starts_with_the_async_engine)
    assert error["type"] == "EngineCallInWorkflow"
    assert "engine.start()" in error["message"]
    assert len(engine.list_runs(workflow_type="inner")) == 0


def test_an_engine_call_from_an_update_handler_fails_the_update(engine: Engine) -> None:
    run = engine.start(flows.updates_with_the_engine)
    with pytest.raises(UpdateFailed, match=r"engine\.cancel\(\).*ctx\.external"):
        engine.update(run.workflow_id, "go", run.workflow_id, timeout=30)
    engine.cancel(run.workflow_id)


def test_an_engine_call_from_an_activity_is_allowed(engine: Engine) -> None:
    assert engine.start(flows.starts_from_an_activity).result(timeout=30) == "from-activity"
    assert engine.result("from-activity", timeout=30) == 7


def test_an_engine_call_from_a_done_callback_is_allowed(engine: Engine) -> None:
    flows.SEEN.clear()
    flows.DONE.clear()
    run = engine.start(flows.inner)
    run.add_done_callback(lambda: flows.then_start("next"))
    assert flows.DONE.wait(30)
    assert flows.SEEN == [7]
