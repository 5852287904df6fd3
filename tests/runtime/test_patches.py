"""Patch markers: code changes with runs in flight, restarts (and kill -9) in between.

A `PatchApplied` takes its place among a run's commands: `ctx.patched` is
True where history holds the marker or the run is live there, False where
history recorded another command (the run predates the patch).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from aion_actors import AionError, Engine, NonDeterminismError, QueryError, WorkflowStatus
from aion_actors.cli import main
from aion_actors.core import events as ev
from aion_actors.core import new_run_id, stamp
from aion_actors.runtime.definitions import WorkflowDefinition
from aion_actors.runtime.machine import Machine
from aion_actors.store import LmdbStore
from tests.crashes import kill_engine
from tests.runtime import patch_flows as pf
from tests.workers.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
RUN = new_run_id()


# -- the rule, on the replay driver alone


def _run(
    workflow: WorkflowDefinition, history: list[ev.Event], *outcomes: Callable[[ev.Event], ev.Event]
) -> list[ev.Event]:
    """Advance a machine over `history`, answering each new command as `outcomes` say, and
    append what it records; returns the new events."""
    machine = Machine(workflow, "w", RUN, history)
    new: list[ev.Event] = []
    for outcome in (*outcomes, None):
        recorded = _add(history, machine.advance())
        new += recorded
        if outcome is None:
            break
        commands = [e for e in recorded if isinstance(e, ev.ActivityScheduled)]
        new += (answers := _add(history, [outcome(c) for c in commands]))
        machine.feed(answers)
    return new


def _add(history: list[ev.Event], events: list[ev.Event]) -> list[ev.Event]:
    stamped = [stamp(e, len(history) + i + 1, len(history) + i + 1) for i, e in enumerate(events)]
    history += stamped
    return stamped


def _charged(command: ev.Event) -> ev.Event:
    assert isinstance(command, ev.ActivityScheduled)
    return ev.ActivityCompleted(activity_id=command.activity_id, result=f"{command.name} done")


def _started(name: str = "payment", *args: object) -> list[ev.Event]:
    return [
        ev.WorkflowStarted(workflow_type=name, input=list(args), run_id=RUN, version="v", seq=1)
    ]


def test_live_patched_records_one_marker_in_place_before_the_new_branch() -> None:
    history = _started("payment", 5)
    new = _run(pf.payment_v2, history, _charged)
    assert [e.kind for e in new] == ["PatchApplied", "ActivityScheduled", "ActivityCompleted"]
    assert new[0] == stamp(ev.PatchApplied(patch_id=pf.PATCH), 2, 2)
    assert isinstance(new[1], ev.ActivityScheduled) and new[1].name == "charge_new"
    assert new[1].activity_id == "2"  # the marker took place 1


def test_a_history_from_before_the_patch_takes_the_old_branch_and_records_no_marker() -> None:
    history = _started("payment", 5)
    _run(pf.payment_v1, history, _charged)
    new = _run(pf.payment_v2, history)  # replays to the signal wait: nothing to record
    assert new == []
    history.append(stamp(ev.SignalReceived(name="ship"), len(history) + 1, 0))
    [completed] = _run(pf.payment_v2, history)
    assert isinstance(completed, ev.WorkflowCompleted) and completed.result == "charge_old done"


def test_a_history_with_the_marker_replays_the_new_branch_without_recording_it_again() -> None:
    history = _started("payment", 5)
    _run(pf.payment_v2, history, _charged)
    history.append(stamp(ev.SignalReceived(name="ship"), len(history) + 1, 0))
    [completed] = _run(pf.payment_v2, history)
    assert isinstance(completed, ev.WorkflowCompleted) and completed.result == "charge_new done"


def test_deprecate_patch_passes_over_the_marker_and_records_nothing_live() -> None:
    took_it = _started("payment", 5)
    _run(pf.payment_v2, took_it, _charged)
    took_it.append(stamp(ev.SignalReceived(name="ship"), len(took_it) + 1, 0))
    [completed] = _run(pf.payment_v3, took_it)
    assert isinstance(completed, ev.WorkflowCompleted) and completed.result == "charge_new done"
    fresh = _started("payment", 5)
    assert [e.kind for e in _run(pf.payment_v3, fresh)] == ["ActivityScheduled"]


@pytest.mark.parametrize("code", [pf.payment_v1, pf.payment_dropped], ids=["v1", "dropped"])
def test_code_without_the_patch_call_diverges_naming_the_patch(code: WorkflowDefinition) -> None:
    history = _started("payment", 5)
    _run(pf.payment_v2, history, _charged)
    with pytest.raises(NonDeterminismError) as raised:
        Machine(code, "w", RUN, history).advance()
    error = raised.value
    assert error.patch == pf.PATCH and error.seq == 2
    assert "patch marker 'charge-v2'" in error.recorded
    assert "add ctx.patched('charge-v2') (or ctx.deprecate_patch)" in str(error)


def test_a_closed_history_that_ended_before_the_patch_replays_without_it() -> None:
    history = _started("notifies_after_signal")
    history.append(stamp(ev.SignalReceived(name="ship"), 2, 2))
    history.append(stamp(ev.WorkflowCompleted(result="shipped"), 3, 3))
    machine = Machine(pf.notifies_after_signal, "w", RUN, history)
    assert [e.kind for e in machine.advance()] == ["WorkflowCompleted"]


def test_a_rebuilt_run_that_got_past_the_place_before_the_change_takes_the_old_branch() -> None:
    """No command recorded at the place, but the last incarnation's code got there on the
    same events (and was waiting inside the old branch): the old branch, no marker."""
    history = [*_started("review", 4), ev.SignalReceived(name="hold", seq=2)]
    history += [
        ev.ActivityScheduled(activity_id="1", name="charge_old", input=[4], attempt=1, seq=3),
        ev.ActivityCompleted(activity_id="1", result="old 4", seq=4),
    ]
    rebuilt = Machine(pf.review_v2, "w", RUN, history, rebuilt=True)
    assert rebuilt.advance() == [] and rebuilt.ctx.is_replaying
    assert rebuilt.ctx.patched("manual-review") is False
    fresh = Machine(pf.review_v2, "w", RUN, list(history))  # the same events, first seen now
    assert [e.kind for e in fresh.advance()] == ["PatchApplied"]


def test_a_patch_asked_in_a_signal_handler_takes_its_place_and_replays() -> None:
    history = _started("patched_in_handler")
    assert _run(pf.patched_in_handler, history) == []
    history.append(stamp(ev.SignalReceived(name="ship"), len(history) + 1, 0))
    new = _run(pf.patched_in_handler, history, _charged)
    assert [e.kind for e in new][:2] == ["PatchApplied", "ActivityScheduled"]
    [completed] = _run(pf.patched_in_handler, history)
    assert isinstance(completed, ev.WorkflowCompleted) and completed.result == [True]


def test_a_query_reads_a_known_patch_answer_and_never_records_one() -> None:
    machine = Machine(pf.asks_in_a_query, "w", RUN, _started("asks_in_a_query"))
    assert [e.kind for e in machine.advance()] == ["PatchApplied"]
    assert machine.answer_query("took", ("known",)) is True
    with pytest.raises(QueryError, match=r"called ctx\.patched\(\); queries must only read"):
        machine.answer_query("took", ("unknown",))
    assert machine.advance() == []


# -- the rule across a change of code, with an engine restart (or kill -9) in between


def _history(data: Path, workflow_id: str) -> list[ev.Event]:
    try:
        with LmdbStore(data, readonly=True) as store:
            run = store.latest_run(workflow_id)
            return store.read(workflow_id, run.run_id) if run else []
    except AionError:  # the engine has not created the directory yet
        return []


def _killed_once(data: Path, version: str, workflow_id: str, amount: int, kind: type) -> None:
    """Run `version` in an engine process; SIGKILL it once the run's history shows `kind`."""
    args = [str(data), version, workflow_id, str(amount)]
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.runtime.patch_child", *args],
        cwd=ROOT,
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: any(isinstance(e, kind) for e in _history(data, workflow_id)),
            60,
            f"{workflow_id} to record {kind.__name__}",
        )
    finally:
        kill_engine(child)


def _open(data: Path, version: str) -> Engine:
    engine = Engine.open(data, workers=1)
    engine.register(pf.VERSIONS[version], *pf.ACTIVITIES)
    return engine


def _kinds(engine: Engine, workflow_id: str) -> list[str]:
    return [e.kind for e in engine.history(workflow_id)]


def _charged_once(engine: Engine, workflow_id: str) -> None:
    """Was in flight: waits for "ship" with its charge done."""
    wait_until(lambda: "ActivityCompleted" in _kinds(engine, workflow_id), 30, "the charge")


@pytest.mark.timeout(120)
def test_a_run_in_flight_keeps_the_old_branch_while_new_runs_take_the_patch(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    _killed_once(data, "v1", "old", 5, ev.ActivityCompleted)  # v1 code, killed in flight
    with _open(data, "v2") as engine:
        engine.start("payment", 7, workflow_id="new")
        _charged_once(engine, "new")
        for workflow_id in ("old", "new"):
            engine.signal(workflow_id, "ship")
        assert engine.result("old", timeout=30) == "old 5"
        assert engine.result("new", timeout=30) == "new 7"
        assert "PatchApplied" not in _kinds(engine, "old")
        kinds = _kinds(engine, "new")
        assert kinds.count("PatchApplied") == 1
        assert kinds.index("PatchApplied") < kinds.index("ActivityScheduled")
        assert engine.describe("old").patches == ()
        assert engine.describe("new").patches == (pf.PATCH,)


@pytest.mark.timeout(120)
def test_a_kill_after_the_marker_leaves_it_recorded_once_and_the_new_branch_taken(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    _killed_once(data, "v2", "pay", 3, ev.PatchApplied)
    with _open(data, "v2") as engine:
        _charged_once(engine, "pay")
        engine.signal("pay", "ship")
        assert engine.result("pay", timeout=30) == "new 3"
        kinds = _kinds(engine, "pay")
        assert kinds.count("PatchApplied") == 1 and kinds.count("ActivityCompleted") == 1
        assert "charge_old" not in str(engine.history("pay"))


@pytest.mark.timeout(60)
def test_a_run_waiting_inside_the_old_branch_keeps_it_one_waiting_before_it_takes_the_new(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with Engine.open(data, workers=1) as engine:
        engine.register(pf.review_v1, *pf.ACTIVITIES)
        engine.start("review", 1, workflow_id="inside")
        engine.start("review", 2, workflow_id="before")
        engine.signal("inside", "hold")  # now waits for "approve", past v2's patch place
        _charged_once(engine, "inside")
    with Engine.open(data, workers=1) as engine:
        engine.register(pf.review_v2, *pf.ACTIVITIES)
        engine.signal("inside", "approve")  # what it was waiting for when the code changed
        assert engine.result("inside", timeout=30) == "approved: old 1"
        engine.signal("before", "hold")  # it gets to the place only now: the new branch
        _charged_once(engine, "before")
        engine.signal("before", "review-ok")
        assert engine.result("before", timeout=30) == "reviewed: old 2"
        assert "PatchApplied" not in _kinds(engine, "inside")
        assert _kinds(engine, "before").count("PatchApplied") == 1


@pytest.mark.timeout(60)
def test_deprecating_the_patch_replays_runs_that_took_it_and_new_runs_record_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    with _open(data, "v2") as engine:
        engine.start("payment", 7, workflow_id="took")
        _charged_once(engine, "took")
    with _open(data, "v3") as engine:
        engine.start("payment", 8, workflow_id="fresh")
        _charged_once(engine, "fresh")
        for workflow_id in ("took", "fresh"):
            engine.signal(workflow_id, "ship")
        assert engine.result("took", timeout=30) == "new 7"
        assert engine.result("fresh", timeout=30) == "new 8"
        assert _kinds(engine, "took").count("PatchApplied") == 1
        assert _kinds(engine, "took").count("ActivityScheduled") == 1
        assert "PatchApplied" not in _kinds(engine, "fresh")
        assert engine.describe("took").patches == (pf.PATCH,)
        assert engine.describe("fresh").patches == ()
    assert main(["describe", str(data), "took", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["patches"] == [pf.PATCH]
    assert main(["history", str(data), "took"]) == 0
    assert "patch 'charge-v2' taken" in capsys.readouterr().out


@pytest.mark.timeout(60)
@pytest.mark.parametrize("code", ["v1", "dropped"])
def test_code_without_the_patch_call_parks_a_run_that_took_it_naming_the_patch(
    tmp_path: Path, code: str
) -> None:
    data = tmp_path / "data"
    with _open(data, "v2") as engine:
        engine.start("payment", 7, workflow_id="took")
        _charged_once(engine, "took")
    with _open(data, code) as engine:
        wait_until(lambda: engine.describe("took").status == WorkflowStatus.PARKED, 30, "park")
        parked = engine.history("took")[-1]
        assert isinstance(parked, ev.RunParked)
        assert "patch marker 'charge-v2'" in parked.reason
        assert "add ctx.patched('charge-v2') (or ctx.deprecate_patch)" in parked.reason
        engine.register(pf.payment_v3, replace=True)  # the fix: code that knows the patch
        engine.resume("took")
        engine.signal("took", "ship")
        assert engine.result("took", timeout=30) == "new 7"
        assert _kinds(engine, "took").count("ActivityScheduled") == 1
