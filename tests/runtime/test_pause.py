"""`engine.pause` / `unpause`: a paused run records what reaches it but runs no code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aion_actors import (
    AionError,
    Engine,
    OperationRefused,
    WorkflowClosed,
    WorkflowStatus,
)
from aion_actors.core import events as ev
from tests.crashes import kill_engine
from tests.pg import open_readonly
from tests.runtime import ops_flows
from tests.workers.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
ON_POSTGRES = True  # every test that takes `data_dir` (or `ops`) runs on Postgres too


def _kinds(engine: Engine, workflow_id: str = "ops") -> list[str]:
    return [e.kind for e in engine.history(workflow_id)]


def _after_pause(kinds: list[str]) -> list[str]:
    return kinds[kinds.index("RunPaused") + 1 :]


@pytest.mark.timeout(60)
def test_an_activity_finishing_while_paused_is_recorded_and_the_next_is_not_dispatched(
    ops: Engine, tmp_path: Path
) -> None:
    ledger = str(tmp_path / "ledger")
    ops.start("gated_then_step", ledger, workflow_id="ops")
    wait_until(lambda: "ActivityScheduled" in _kinds(ops), 10, "the gated activity to start")
    ops.pause("ops", "investigating")
    assert ops.describe("ops").status is WorkflowStatus.PAUSED
    ops_flows.GATE.set()
    wait_until(lambda: "ActivityCompleted" in _kinds(ops), 10, "the activity's outcome")
    # its commands would have been committed with the outcome, in one batch
    assert _after_pause(_kinds(ops)) == ["ActivityCompleted"]
    assert ops_flows.ran(ledger) == ["gated 1"]

    ops.unpause("ops")
    ops.signal("ops", "more", "m")
    assert ops.result("ops", timeout=10) == [1, 2, ["m"]]
    assert ops_flows.ran(ledger) == ["gated 1", "step 2"]
    assert ops.describe("ops").status is WorkflowStatus.COMPLETED


@pytest.mark.timeout(60)
def test_signals_while_paused_are_recorded_and_delivered_on_unpause(
    ops: Engine, tmp_path: Path
) -> None:
    ledger = str(tmp_path / "ledger")
    ops.start("signals_while_waiting", ledger, workflow_id="ops")
    ops.pause("ops")
    ops.signal("ops", "item", "a")
    ops.signal("ops", "item", "b")
    assert _after_pause(_kinds(ops)) == ["SignalReceived", "SignalReceived"]
    assert ops.query("ops", "stage") == "waiting"
    assert ops_flows.ran(ledger) == []
    ops.unpause("ops")
    assert ops.result("ops", timeout=10) == ["a", "b", 9]
    kinds = _kinds(ops)
    assert kinds.index("RunUnpaused") < kinds.index("ActivityScheduled")


@pytest.mark.timeout(60)
def test_pause_and_unpause_refuse_what_does_not_apply_and_record_nothing(
    ops: Engine, tmp_path: Path
) -> None:
    ledger = str(tmp_path / "ledger")
    ops.start("signals_while_waiting", ledger, workflow_id="ops")
    with pytest.raises(OperationRefused, match="is not paused"):
        ops.unpause("ops")
    ops.pause("ops")
    with pytest.raises(OperationRefused, match="is paused already"):
        ops.pause("ops")
    assert _kinds(ops).count("RunPaused") == 1
    assert "RunUnpaused" not in _kinds(ops)
    ops.terminate("ops", "done with it")  # a paused run can still be terminated
    with pytest.raises(WorkflowClosed, match="pause"):
        ops.pause("ops")
    with pytest.raises(WorkflowClosed, match="unpause"):
        ops.unpause("ops")


def _history(data: Any) -> list[ev.Event]:
    try:
        with open_readonly(data) as store:
            run = store.latest_run("ops")
            return store.read("ops", run.run_id) if run else []
    except AionError:  # the engine has not created the directory yet
        return []


@pytest.mark.timeout(120)
def test_a_pause_survives_a_killed_engine_and_unpause_completes_the_run(
    data_dir: Any, tmp_path: Path
) -> None:
    data, ledger = data_dir, str(tmp_path / "ledger")
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.runtime.ops_child", str(data), "pause", ledger],
        cwd=ROOT,
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: any(isinstance(e, ev.SignalReceived) for e in _history(data)),
            60,
            "the paused run's signal",
        )
    finally:
        kill_engine(child)

    with Engine.open(data, workers=1) as engine:
        engine.register(*ops_flows.ALL)
        assert engine.describe("ops").status is WorkflowStatus.PAUSED
        assert engine.query("ops", "stage") == "waiting"  # rebuilt by replay, still paused
        engine.signal("ops", "item", "b")
        assert "ActivityScheduled" not in _kinds(engine)
        assert [r.workflow_id for r in engine.list_runs(status=WorkflowStatus.PAUSED)] == ["ops"]
        engine.unpause("ops")
        assert engine.result("ops", timeout=30) == ["a", "b", 9]
    assert ops_flows.ran(ledger) == ["step 9"]
