"""Runs crash, restart by replay, exhaust their budget, park, resume; replay stays honest."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors import (
    ConfigError,
    Engine,
    OperationRefused,
    WorkflowFailed,
    WorkflowStatus,
    workflow,
)
from aion_actors.core import events as ev
from supervisor import RestartPolicy
from supervisor.policy import Strategy
from tests.runtime import flows
from tests.workers.helpers import wait_until


def _of(history: list[ev.Event], kind: type[ev.Event]) -> list[ev.Event]:
    return [e for e in history if isinstance(e, kind)]


def test_a_crash_restarts_the_run_by_replay_with_a_new_pid(engine: Engine) -> None:
    flows.FAULTS["crashes"] = 1
    run = engine.start(flows.crashy_fail, workflow_id="crash-once")
    assert run.result(timeout=30) == "fine"
    history = engine.history("crash-once")
    crashed, restarted = _of(history, ev.RunCrashed), _of(history, ev.RunRestarted)
    assert len(crashed) == 1 and len(restarted) == 1
    assert crashed[0].error == {"type": "RuntimeError", "message": "bug in workflow code"}
    assert "bug in workflow code" in crashed[0].traceback
    assert restarted[0].pid != crashed[0].pid and restarted[0].attempt == 1
    # replay fed the recorded result back: the activity ran once
    assert len(_of(history, ev.ActivityScheduled)) == 1
    assert engine.describe("crash-once").restarts == 1


def test_exhausting_the_budget_fails_the_run(engine: Engine) -> None:
    flows.FAULTS["crashes"] = 100
    run = engine.start(flows.crashy_fail, workflow_id="crash-loop")
    with pytest.raises(WorkflowFailed) as failed:
        run.result(timeout=30)
    assert failed.value.error["type"] == "RuntimeError"
    history = engine.history("crash-loop")
    # max_restarts=2: three crashes, two restarts, then the exhausted action
    assert len(_of(history, ev.RunCrashed)) == 3
    assert len(_of(history, ev.RunRestarted)) == 2
    assert isinstance(history[-1], ev.WorkflowFailed)
    assert len(_of(history, ev.ActivityScheduled)) == 1


def test_exhausted_park_then_resume_after_the_fix(engine: Engine) -> None:
    run = engine.start(flows.crashy_park, workflow_id="parked")
    wait_until(lambda: engine.describe("parked").status == WorkflowStatus.PARKED, 30, "park")
    described = engine.describe("parked")
    assert described.residency == "parked" and described.pid is None
    assert isinstance(engine.history("parked")[-1], ev.RunParked)
    engine.register(flows.crashy_park_fixed, replace=True)
    assert engine.describe("parked").version_changed
    engine.resume("parked")
    assert run.result(timeout=30) == "fixed: 2"
    kinds = [e.kind for e in engine.history("parked")]
    assert kinds.index("RunParked") < kinds.index("RunResumed")
    assert kinds[-1] == "WorkflowCompleted"
    assert kinds.count("ActivityScheduled") == 1


def test_once_resume_returns_describe_is_not_parked_and_a_second_resume_says_why(
    engine: Engine,
) -> None:
    """A run being resumed is not "parked": describe says running, and a second resume is
    refused (`OperationRefused`, nothing done) naming the run's real state."""
    run = engine.start(flows.crashy_park, workflow_id="parked")
    wait_until(lambda: engine.describe("parked").status == WorkflowStatus.PARKED, 30, "park")
    engine.register(flows.crashy_park_fixed, replace=True)
    engine.resume("parked")
    assert engine.describe("parked").status is not WorkflowStatus.PARKED
    with pytest.raises(OperationRefused, match="not parked; only parked runs") as refused:
        engine.resume("parked")
    assert "is parked" not in str(refused.value)
    assert run.result(timeout=30) == "fixed: 2"
    assert [e.kind for e in engine.history("parked")].count("RunResumed") == 1


def test_changing_activity_order_parks_with_a_named_mismatch(data_dir: Path) -> None:
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL)
        run = engine.start(flows.ordered, workflow_id="order-swap")
        wait_until(lambda: len(engine.history("order-swap")) >= 5, 30, "both activities")
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL)
        engine.register(flows.ordered_swapped, replace=True)
        wait_until(
            lambda: engine.describe("order-swap").status == WorkflowStatus.PARKED, 30, "park"
        )
        parked = engine.history("order-swap")[-1]
        assert isinstance(parked, ev.RunParked)
        assert "seq 2" in parked.reason
        assert "'add'" in parked.reason and "'add_in_process'" in parked.reason
        assert "NonDeterminism" in parked.reason or "non-determinism" in parked.reason
        assert len(_of(engine.history("order-swap"), ev.ActivityScheduled)) == 2
        assert run.run_id == engine.describe("order-swap").run_id


def test_time_randomness_and_ids_replay_identically(engine: Engine) -> None:
    flows.SEEN.clear()
    flows.FAULTS["crashes"] = 1
    run = engine.start(flows.deterministic_values, workflow_id="same-values")
    values = run.result(timeout=30)
    assert len(flows.SEEN) == 2 and flows.SEEN[0] == flows.SEEN[1]
    assert values == flows.SEEN[0][:3]


def test_a_temporary_run_fails_at_its_first_crash(engine: Engine) -> None:
    run = engine.start(flows.crashes_once_for_good, workflow_id="temp")
    with pytest.raises(WorkflowFailed) as failed:
        run.result(timeout=30)
    assert failed.value.error["type"] == "RuntimeError"
    kinds = [e.kind for e in engine.history("temp")]
    assert kinds.count("RunCrashed") == 1 and "RunRestarted" not in kinds
    assert kinds[-1] == "WorkflowFailed"
    assert kinds.index("ActivityCompleted") < kinds.index("RunCrashed")


@pytest.mark.parametrize("strategy", ["one_for_all", "rest_for_one"])
def test_a_run_restart_strategy_other_than_one_for_one_is_refused_in_code_as_in_the_file(
    engine: Engine, strategy: Strategy
) -> None:
    policy = RestartPolicy(strategy=strategy)
    refusal = (
        rf"workflow 'crashy_fail': RestartPolicy\(strategy='{strategy}'\) is refused: "
        "each run is supervised on its own"
    )
    with pytest.raises(ConfigError, match=rf"^engine.register\(\) of {refusal}"):
        engine.register(flows.crashy_fail, restart=policy)
    with pytest.raises(ConfigError, match=rf"^{refusal}"):
        workflow(name="crashy_fail", restart=policy)(flows.crashy_fail.fn)


def test_restart_policy_defaults_permanent_and_escalate_mean_transient_and_fail_for_runs() -> None:
    """`RestartPolicy()`'s OTP defaults, as a run takes them (README: Restart policy reference)."""
    policy = RestartPolicy(restart="permanent", on_exhausted="escalate")
    definition = workflow(name="otp_defaults", restart=policy)(flows.crashy_fail.fn)
    assert (definition.restart.restart, definition.restart.on_exhausted) == ("transient", "fail")
