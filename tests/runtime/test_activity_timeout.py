"""`ctx.activity(..., timeout=)`: one deadline for all attempts, on a durable timer."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from aion_actors import Engine, WorkflowContext, WorkflowFailed
from aion_actors.core import TimerId, TimerKind
from aion_actors.core import events as ev
from tests.runtime import prims

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def engine(engine: Engine) -> Engine:
    engine.register(*prims.ALL)
    return engine


def _timers_left(engine: Engine) -> list[str]:
    return [t.timer_id for t in engine.store.due_timers(1 << 62, limit=100)]


def test_an_activity_that_finishes_in_time_returns_and_leaves_no_deadline(
    engine: Engine, tmp_path: Path
) -> None:
    ledger = str(tmp_path / "ledger")
    run = engine.start(prims.bounded, ledger, 0.0, 30.0, workflow_id="quick")
    assert run.result(timeout=30) == "finished in time"
    scheduled = [e for e in engine.history("quick") if isinstance(e, ev.ActivityScheduled)]
    assert scheduled[0].deadline is not None
    assert scheduled[0].deadline > scheduled[0].recorded_at
    assert _timers_left(engine) == []


def test_an_activity_past_its_deadline_raises_activity_timeout(
    engine: Engine, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger"
    run = engine.start(prims.bounded, str(ledger), 4.0, 0.3, workflow_id="slow")
    assert run.result(timeout=30) == "timed out: ActivityTimeout"
    history = engine.history("slow")
    failed = [e for e in history if isinstance(e, ev.ActivityFailed)]
    assert [f.error["type"] for f in failed] == ["ActivityTimeout"]
    assert "deadline" in failed[0].error["message"]
    assert not any(isinstance(e, ev.ActivityCompleted) for e in history)
    # the workflow did not wait for it (not started at all if no worker was up by then)
    assert not ledger.exists() or "hang ended" not in ledger.read_text()


def test_a_late_result_is_discarded(engine: Engine, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    # A worker process up first: an attempt not started by its deadline never runs.
    warm = engine.start(prims.bounded, str(tmp_path / "warm"), 0.0, 30.0, workflow_id="warm")
    assert warm.result(timeout=30) == "finished in time"
    run = engine.start(prims.bounded, str(ledger), 1.0, 0.2, workflow_id="late")
    assert run.result(timeout=30) == "timed out: ActivityTimeout"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (
        ledger.exists() and "hang ended" in ledger.read_text()
    ):
        time.sleep(0.05)
    assert "hang ended" in ledger.read_text()
    time.sleep(0.2)  # let the late result reach the (closed) run
    history = engine.history("late")
    assert not any(isinstance(e, ev.ActivityCompleted) for e in history)
    assert isinstance(history[-1], ev.WorkflowCompleted)


def test_the_deadline_bounds_retries_and_their_waits(engine: Engine, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    run = engine.start(prims.bounded_retries, str(ledger), 2.0, workflow_id="retries")
    assert run.result(timeout=30) == "gave up"
    history = engine.history("retries")
    attempts = [e for e in history if isinstance(e, ev.ActivityScheduled)]
    assert 1 < len(attempts) < 1000
    assert all(a.deadline == attempts[0].deadline for a in attempts)
    failed = [e for e in history if isinstance(e, ev.ActivityFailed)]
    assert [f.error["type"] for f in failed] == ["ActivityTimeout"]
    time.sleep(0.1)
    kinds = {TimerId.parse(t).kind for t in _timers_left(engine)}
    assert not kinds & {TimerKind.RETRY, TimerKind.DEADLINE}, (
        "a retry or deadline timer outlived its activity"
    )


def test_an_uncaught_activity_timeout_fails_the_workflow(engine: Engine, tmp_path: Path) -> None:
    run = engine.start(prims.unbounded_failure, str(tmp_path / "ledger"), workflow_id="uncaught")
    with pytest.raises(WorkflowFailed, match="ActivityTimeout"):
        run.result(timeout=30)


def test_the_deadline_survives_a_restart_of_the_engine(data_dir: Path, tmp_path: Path) -> None:
    ledger = str(tmp_path / "ledger")
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*prims.ALL)
        engine.start(prims.bounded, ledger, 30.0, 1.0, workflow_id="restarted")
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*prims.ALL)
        assert engine.result("restarted", timeout=30) == "timed out: ActivityTimeout"


@pytest.mark.parametrize("timeout", [-1, "10", float("nan"), True])
def test_a_bad_timeout_is_refused_naming_the_activity(timeout: object) -> None:
    ctx = WorkflowContext("w", uuid.uuid4().hex, 0)
    with pytest.raises(ValueError, match=r"hangs\(\) timeout must be a number of seconds"):
        ctx.activity(prims.hangs, "ledger", 1.0, timeout=timeout)  # type: ignore[arg-type]
