"""Workflow timeouts: `execution_timeout` bounds a workflow_id chain, `run_timeout` one run.

A run past its deadline ends `WorkflowTimedOut`, recorded once on a durable
timer, however the run lives at that moment (resident, evicted, parked).
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from aion_actors import (
    Engine,
    WorkflowClosed,
    WorkflowFailed,
    WorkflowStatus,
    WorkflowTimedOut,
)
from aion_actors.cli import main
from aion_actors.cli._events import iso
from aion_actors.core import TimerId, TimerKind, WorkflowTimeout
from aion_actors.core import events as ev
from tests.runtime import flows
from tests.runtime import timeout_flows as tf
from tests.workers.helpers import wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def engine(engine: Engine) -> Engine:
    engine.register(*tf.ALL)
    return engine


def _started(engine: Engine, workflow_id: str, run_id: str | None = None) -> ev.WorkflowStarted:
    first = engine.history(workflow_id, run_id)[0]
    assert isinstance(first, ev.WorkflowStarted)
    return first


def _runs_of(engine: Engine, workflow_id: str) -> list[Any]:
    runs = [r for r in engine.list_runs() if r.workflow_id == workflow_id]
    return sorted(runs, key=lambda r: r.started_at)


def test_run_timeout_ends_a_run_waiting_forever_with_workflow_timed_out_once(
    engine: Engine,
) -> None:
    run = engine.start(tf.sleeps_forever, workflow_id="idle", run_timeout=0.3)
    started = _started(engine, "idle")
    assert started.run_deadline == started.recorded_at + 300_000_000
    assert started.execution_deadline is None and started.run_timeout == 0.3

    with pytest.raises(WorkflowTimedOut) as raised:
        run.result(timeout=30)

    assert isinstance(raised.value, WorkflowFailed)  # `except WorkflowFailed` still catches it
    assert raised.value.status == "timed_out"
    assert raised.value.error["type"] == "WorkflowTimedOut"
    assert "run_timeout" in raised.value.error["message"]
    history = engine.history("idle")
    assert [e.kind for e in history] == ["WorkflowStarted", "WorkflowTimedOut"]
    closing = history[-1]
    assert isinstance(closing, ev.WorkflowTimedOut) and closing.timeout == "run"
    assert closing.recorded_at >= started.run_deadline
    described = engine.describe("idle")
    assert described.status is WorkflowStatus.TIMED_OUT
    assert described.outcome == closing
    assert engine.store.due_timers(1 << 62, limit=10) == []
    with pytest.raises(WorkflowClosed):  # nothing is recorded after the closing event
        engine.signal("idle", "never")
    assert engine.history("idle") == history


def test_describe_shows_when_an_open_run_times_out(engine: Engine) -> None:
    engine.start(tf.sleeps_forever, workflow_id="bounded", run_timeout=60, execution_timeout=30)
    described = engine.describe("bounded")
    started = _started(engine, "bounded")
    assert described.timeout_at is not None and started.execution_deadline is not None
    # the earlier of the two deadlines, as a datetime
    assert abs(described.timeout_at.timestamp() - started.execution_deadline / 1e9) < 1e-3
    engine.start(tf.sleeps_forever, workflow_id="unbounded")
    assert engine.describe("unbounded").timeout_at is None
    engine.terminate("bounded")
    engine.terminate("unbounded")


def test_the_cli_shows_a_runs_deadlines(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*tf.ALL)
        engine.start(tf.sleeps_forever, workflow_id="bounded", run_timeout=600)
        started = _started(engine, "bounded")
    assert started.run_deadline is not None
    assert main(["describe", str(data_dir), "bounded", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["timeout_at"] == iso(started.run_deadline)
    assert main(["history", str(data_dir), "bounded"]) == 0
    assert "run timeout at" in capsys.readouterr().out


def test_execution_timeout_spans_continue_as_new_with_one_deadline(engine: Engine) -> None:
    run = engine.start(tf.hops, 0, workflow_id="chain", execution_timeout=2.0, run_timeout=5.0)
    with pytest.raises(WorkflowTimedOut, match="execution_timeout"):
        run.result(timeout=30)

    runs = _runs_of(engine, "chain")
    assert len(runs) >= 3  # it continued as new several times before the deadline
    starts = [_started(engine, "chain", r.run_id) for r in runs]
    first = starts[0]
    assert first.execution_deadline == first.recorded_at + 2_000_000_000
    # the chain's deadline is fixed at the first run and carried into each continued run;
    # the run timeout starts afresh with each run
    assert {s.execution_deadline for s in starts} == {first.execution_deadline}
    assert all(s.run_deadline == s.recorded_at + 5_000_000_000 for s in starts)
    assert [r.status for r in runs[:-1]] == [WorkflowStatus.CONTINUED_AS_NEW] * (len(runs) - 1)
    assert runs[-1].status is WorkflowStatus.TIMED_OUT
    last = engine.history("chain")[-1]
    assert isinstance(last, ev.WorkflowTimedOut) and last.timeout == "execution"


def test_run_timeout_bounds_each_continued_run_not_the_chain(engine: Engine) -> None:
    run = engine.start(tf.finishes_in_hops, 0, 5, 0.4, workflow_id="hops", run_timeout=1.5)
    assert run.result(timeout=30) == 5  # six runs of 0.4 s: longer than 1.5 s together
    assert len(_runs_of(engine, "hops")) == 6


def test_start_many_gives_every_run_the_timeouts(engine: Engine) -> None:
    handles = engine.start_many(
        tf.sleeps_forever, [(), ()], workflow_ids=["m1", "m2"], run_timeout=0.3
    )
    for handle in handles:
        with pytest.raises(WorkflowTimedOut):
            handle.result(timeout=30)
    assert all(_started(engine, h.workflow_id).run_timeout == 0.3 for h in handles)


def test_start_takes_its_timeouts_as_a_timedelta_too(engine: Engine) -> None:
    run = engine.start(
        tf.sleeps_forever,
        workflow_id="td",
        run_timeout=timedelta(seconds=0.3),
        execution_timeout=timedelta(minutes=5),
    )
    with pytest.raises(WorkflowTimedOut):
        run.result(timeout=timedelta(seconds=30))
    started = _started(engine, "td")
    assert started.run_timeout == 0.3
    assert started.execution_deadline == started.recorded_at + 300 * 10**9


@pytest.mark.parametrize("name", ["execution_timeout", "run_timeout"])
@pytest.mark.parametrize("value", [0, -1.5, "5", True, float("nan"), float("inf")])
def test_a_timeout_that_is_no_positive_number_is_refused_naming_it(
    engine: Engine, name: str, value: Any
) -> None:
    with pytest.raises(ValueError, match=name):
        engine.start(tf.sleeps_forever, workflow_id="never", **{name: value})
    with pytest.raises(ValueError, match=name):
        engine.start_many(tf.sleeps_forever, [()], workflow_ids=["never"], **{name: value})
    assert [r for r in engine.list_runs() if r.workflow_id == "never"] == []


def test_a_parent_awaiting_a_timed_out_child_gets_child_workflow_error(engine: Engine) -> None:
    run = engine.start(tf.awaits_bounded_child, 0.3, workflow_id="parent")
    outcome = run.result(timeout=30)
    assert outcome["child"] == "kid"
    assert outcome["error"]["type"] == "ChildWorkflowTimedOut"
    assert "run_timeout" in outcome["error"]["message"]
    assert engine.describe("kid").status is WorkflowStatus.TIMED_OUT
    assert _started(engine, "kid").run_timeout == 0.3


def test_a_child_execution_timeout_is_fixed_by_the_parents_command_and_spans_its_chain(
    engine: Engine,
) -> None:
    run = engine.start(tf.awaits_hopping_child, 1.5, workflow_id="hopper-parent")
    outcome = run.result(timeout=30)
    assert outcome["child"] == "hopper"
    assert "execution_timeout" in outcome["error"]["message"]
    [command] = [e for e in engine.history("hopper-parent") if isinstance(e, ev.ChildStarted)]
    assert command.execution_deadline is not None
    # the parent's clock when it issued the command: its run's start
    assert command.execution_deadline == _started(engine, "hopper-parent").recorded_at + 15 * 10**8
    runs = _runs_of(engine, "hopper")
    assert len(runs) >= 2
    deadlines = {_started(engine, "hopper", r.run_id).execution_deadline for r in runs}
    assert deadlines == {command.execution_deadline}


def test_a_child_timeout_that_is_no_positive_number_is_refused_in_the_workflow(
    engine: Engine,
) -> None:
    message = engine.start(tf.bad_child_timeout, workflow_id="bad").result(timeout=30)
    assert "run_timeout must be a number of seconds > 0" in message


def test_a_timed_out_parent_cancels_its_children_as_their_policy_says(
    engine: Engine, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger"
    run = engine.start(tf.parent_of_sleepers, str(ledger), workflow_id="top", run_timeout=1.0)
    wait_until(lambda: len(_runs_of(engine, "left")) == 1, 30, "both children to start")
    with pytest.raises(WorkflowTimedOut):
        run.result(timeout=30)
    with pytest.raises(WorkflowFailed) as kept:
        engine.result("kept", timeout=30)
    assert kept.value.status == "cancelled"
    assert "cancelled" in ledger.read_text()
    assert engine.describe("left").status is WorkflowStatus.RUNNING  # on_parent_close="abandon"
    assert engine.history("top")[-1].kind == "WorkflowTimedOut"  # no child outcome after it
    engine.terminate("left")


def test_an_activity_result_after_the_timeout_is_ignored(engine: Engine, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    run = engine.start(tf.runs_slow_activity, str(ledger), 1.0, workflow_id="busy", run_timeout=0.3)
    with pytest.raises(WorkflowTimedOut):
        run.result(timeout=30)
    wait_until(lambda: ledger.exists() and "done" in ledger.read_text(), 30, "the activity")
    time.sleep(0.3)  # its result has had time to arrive
    kinds = [e.kind for e in engine.history("busy")]
    assert kinds == ["WorkflowStarted", "ActivityScheduled", "WorkflowTimedOut"]


def test_an_evicted_run_times_out_without_being_replayed(data_dir: Path) -> None:
    with Engine.open(data_dir, workers=1, idle_evict_after=0.05) as engine:
        engine.register(*tf.ALL)
        run = engine.start(tf.sleeps_forever, workflow_id="away", run_timeout=2.0)
        wait_until(lambda: engine.describe("away").residency == "evicted", 10, "eviction")
        assert engine.describe("away").status is WorkflowStatus.RUNNING  # evicted while open
        rehydrations = engine.stats()["rehydrations"]
        with pytest.raises(WorkflowTimedOut):
            run.result(timeout=30)
        assert engine.stats()["rehydrations"] == rehydrations
        assert [e.kind for e in engine.history("away")][-1] == "WorkflowTimedOut"


def test_a_parked_run_still_times_out(engine: Engine) -> None:
    engine.start(flows.crashy_park, workflow_id="stuck", run_timeout=5.0)
    wait_until(lambda: engine.describe("stuck").status is WorkflowStatus.PARKED, 30, "park")
    with pytest.raises(WorkflowTimedOut):
        engine.result("stuck", timeout=30, raise_on_park=False)
    kinds = [e.kind for e in engine.history("stuck")]
    assert kinds[-2:] == ["RunParked", "WorkflowTimedOut"]


def test_timeout_timer_ids_name_which_deadline() -> None:
    for which in WorkflowTimeout:
        timer = TimerId.timeout(which)
        assert str(timer) == f"timeout:{which.value}"
        assert TimerId.parse(str(timer)) == timer and timer.kind is TimerKind.TIMEOUT
    with pytest.raises(ValueError, match=r"timeout:<execution\|run>"):
        TimerId.parse("timeout:lunch")
