"""`max_payload_bytes` lowered between two opens: recorded history replays whatever the
limit is now; only what a run makes anew is checked against it."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors import Engine, WorkflowFailed
from aion_actors.testing import replay
from tests.reliability import reopen_flows as flows

BIG = 50_000
LIMIT = 10_000


def _recorded(data_dir: Path, where: str) -> None:
    """A run of `records` that recorded a `BIG` payload at `where` and waits for `go`."""
    flows.REACHED.clear()
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL)
        engine.start(flows.records, where, BIG, workflow_id="big")
        assert flows.REACHED.wait(30), "the run never got past what it records"


WHERE = ["activity arguments", "activity result", "child arguments", "signal to a child"]


@pytest.mark.parametrize("where", WHERE)
def test_a_run_that_recorded_a_payload_over_the_new_limit_finishes(
    data_dir: Path, where: str
) -> None:
    _recorded(data_dir, where)
    with Engine.open(data_dir, workers=1, max_payload_bytes=LIMIT) as engine:
        engine.register(*flows.ALL)
        engine.signal("big", "go", False)
        assert engine.result("big", timeout=30) == BIG
        assert "RunCrashed" not in [e.kind for e in engine.history("big")]
        assert engine.query("big", "held") == BIG  # the closed run, replayed read-only


@pytest.mark.parametrize("where", WHERE)
def test_a_new_command_over_the_new_limit_still_fails_the_run(data_dir: Path, where: str) -> None:
    _recorded(data_dir, where)
    with Engine.open(data_dir, workers=1, max_payload_bytes=LIMIT) as engine:
        engine.register(*flows.ALL)
        engine.signal("big", "go", True)
        with pytest.raises(WorkflowFailed, match=f"over the {LIMIT}-byte payload limit") as caught:
            engine.result("big", timeout=30)
        assert caught.value.error["type"] == "PayloadError"
        assert caught.value.error["message"].startswith("echo() arguments: encodes to")


def test_closed_histories_replay_under_a_lower_limit(data_dir: Path) -> None:
    """Continue-as-new arguments and a workflow result, recorded under the old limit."""
    _recorded(data_dir, "activity arguments")
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL)
        engine.signal("big", "go", False)
        assert engine.start(flows.continues, BIG, workflow_id="cont").result(timeout=30) == BIG
        assert engine.start(flows.returns, "x" * BIG, workflow_id="ret").result(timeout=30)
        histories = [engine.history(run.workflow_id, run.run_id) for run in engine.list_runs()]
    assert len(histories) == 4
    report = replay(histories, flows.ALL, max_payload_bytes=LIMIT)
    assert [(r.workflow_id, r.verdict) for r in report.runs] == [
        (r.workflow_id, "ok") for r in report.runs
    ]


def test_a_gather_with_a_part_over_the_limit_records_none_of_it(data_dir: Path) -> None:
    with Engine.open(data_dir, workers=1, max_payload_bytes=LIMIT) as engine:
        engine.register(*flows.ALL)
        run = engine.start(flows.gathers, BIG, workflow_id="gathers")
        assert run.result(timeout=30) == "refused: echo() arguments"
        history = engine.history("gathers")
    assert [e.kind for e in history] == ["WorkflowStarted", "WorkflowCompleted"]
    assert [r.verdict for r in replay([history], flows.ALL, max_payload_bytes=LIMIT).runs] == ["ok"]
