"""Child handles and external handles: each request recorded once on both sides. The
client's verbs and `RunHandle`: a bad `timeout=` is refused before anything is recorded."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aion_actors import Engine, RunHandle
from aion_actors.core import events as ev
from tests.crashes import kill_engine
from tests.runtime import handle_flows as hf

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def engine(engine: Engine) -> Engine:
    engine.register(*hf.ALL)
    return engine


def _kinds(engine: Engine, workflow_id: str) -> list[str]:
    return [e.kind for e in engine.history(workflow_id)]


#: what no client call takes as its `timeout=`: a number > 0 (finite) or None
BAD_TIMEOUTS: list[object] = [0, -1, -0.5, math.nan, math.inf, -math.inf, True, "5"]


def test_every_client_verb_refuses_a_timeout_that_is_not_above_0_and_records_nothing(
    engine: Engine,
) -> None:
    handle = engine.start(hf.holds_a_name, workflow_id="held")
    assert engine.query("held", "name") == "first"  # (its first turn is over)
    before = _kinds(engine, "held")
    for bad in BAD_TIMEOUTS:
        for verb, call in _verbs(engine, handle, bad):
            with pytest.raises(ValueError, match=f"^{verb}'s timeout must be a number"):
                call()
    assert _kinds(engine, "held") == before  # nothing recorded, the update not run
    assert engine.describe("held").run_id == handle.run_id
    engine.signal("held", "go", timeout=None)  # None: wait as long as it takes
    assert handle.result(timeout=None) == "first"


def _verbs(engine: Engine, handle: RunHandle, t: Any) -> list[tuple[str, Callable[[], object]]]:
    """Each client verb of `engine` (and `handle.result`) on run "held", given timeout `t`."""
    return [
        ("result", lambda: handle.result(timeout=t)),
        ("result", lambda: engine.result("held", timeout=t)),
        ("signal", lambda: engine.signal("held", "go", "early", timeout=t)),
        ("cancel", lambda: engine.cancel("held", "no", timeout=t)),
        ("terminate", lambda: engine.terminate("held", "no", timeout=t)),
        ("pause", lambda: engine.pause("held", "hold", timeout=t)),
        ("unpause", lambda: engine.unpause("held", timeout=t)),
        ("reset", lambda: engine.reset("held", 1, "again", timeout=t)),
        ("update", lambda: engine.update("held", "rename", "second", timeout=t)),
        ("query", lambda: engine.query("held", "name", timeout=t)),
        ("complete_activity", lambda: engine.complete_activity("tok", 1, timeout=t)),
        ("fail_activity", lambda: engine.fail_activity("tok", OSError(), timeout=t)),
    ]


def test_start_child_resumes_once_started_and_its_handle_signals_and_awaits_it(
    engine: Engine,
) -> None:
    assert engine.start(hf.signals_its_child, 21, workflow_id="mum").result(timeout=30) == 42
    parent = _kinds(engine, "mum")
    order = ["ChildStarted", "ChildRunStarted", "ExternalRequested", "ExternalRequestDone"]
    assert [k for k in parent if k in order] == order
    assert "ChildCompleted" in parent and parent[-1] == "WorkflowCompleted"
    received = [e for e in engine.history("kid") if isinstance(e, ev.SignalReceived)]
    assert len(received) == 1 and received[0].request_id is not None


def test_a_child_handle_cancels_its_child(engine: Engine) -> None:
    run = engine.start(hf.cancels_its_child, workflow_id="boss")
    assert run.result(timeout=30) == "child ChildWorkflowCancelled"
    assert engine.describe("doomed").status.value == "cancelled"


def test_start_child_of_an_open_id_raises_at_the_start(engine: Engine) -> None:
    engine.start(hf.waits_for_go, workflow_id="taken")
    run = engine.start(hf.starts_taken_child, workflow_id="late")
    assert run.result(timeout=30) == "refused: WorkflowAlreadyStarted"
    engine.signal("taken", "go", "still mine")
    assert engine.result("taken", timeout=30) == "still mine"


def test_external_signal_reaches_a_run_the_client_started(engine: Engine) -> None:
    target = engine.start(hf.waits_for_go, workflow_id="target")
    sender = engine.start(hf.signals_another, "target", {"n": 5}, workflow_id="sender")
    assert sender.result(timeout=30) == "sent"
    assert target.result(timeout=30) == {"n": 5}


def test_external_signal_to_no_open_run_raises_external_workflow_error(engine: Engine) -> None:
    missing = engine.start(hf.signals_another, "nobody", 1, workflow_id="s1")
    assert missing.result(timeout=30) == "not sent: WorkflowNotFound"
    engine.start(hf.waits_for_go, workflow_id="done")
    engine.signal("done", "go", 0)
    engine.result("done", timeout=30)
    closed = engine.start(hf.signals_another, "done", 1, workflow_id="s2")
    assert closed.result(timeout=30) == "not sent: WorkflowClosed"


def test_external_cancel_reaches_the_targets_await(engine: Engine) -> None:
    target = engine.start(hf.waits_for_go, workflow_id="victim")
    asker = engine.start(hf.cancels_another, "victim", workflow_id="asker")
    assert asker.result(timeout=30) == "cancel recorded"
    assert target.result(timeout=30) == "cancelled"
    requested = [e for e in engine.history("victim") if isinstance(e, ev.WorkflowCancelRequested)]
    assert len(requested) == 1 and requested[0].reason == "asked by a workflow"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("target", ["waits_twice", "waits_for_go", "cancel"])
def test_a_kill_before_the_asker_hears_records_the_request_once_on_both_sides(
    tmp_path: Path, target: str
) -> None:
    """SIGKILL after the target recorded the signal, before the asker recorded the
    answer; reopened, the asker takes the request again and the target — still open
    (its actor knows the id) or closed (its history does) — takes it as done."""
    data = tmp_path / "data"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.runtime.external_child", str(data), target],
        cwd=ROOT,
        start_new_session=True,
        env={**os.environ, "AION_FAULTS": "external.answering:1"},
    )
    try:
        assert child.wait(timeout=60) == -signal.SIGKILL
    finally:
        with contextlib.suppress(ProcessLookupError):  # the group may be gone already
            kill_engine(child)
    with Engine.open(data, workers=1) as engine:
        engine.register(*hf.ALL)
        asker = [e.kind for e in engine.history("asker")]
        assert "ExternalRequested" in asker and "ExternalRequestDone" not in asker
        if target == "cancel":
            assert engine.result("asker", timeout=30) == "cancel recorded"
            assert engine.result("asked", timeout=30) == "cancelled"
            kinds = [e.kind for e in engine.history("asked")]
            assert kinds.count("WorkflowCancelRequested") == 1
            assert [e.kind for e in engine.history("asker")].count("ExternalRequestDone") == 1
            return
        assert engine.result("asker", timeout=30) == "sent"
        if target == "waits_twice":
            engine.signal("asked", "go", "end")
            assert engine.result("asked", timeout=30) == [7, "end"]
        else:
            assert engine.result("asked", timeout=30) == 7
        received = [e for e in engine.history("asked") if isinstance(e, ev.SignalReceived)]
        assert [e.payload for e in received][:1] == [7] and len(received) == (
            2 if target == "waits_twice" else 1
        )
        assert [e.kind for e in engine.history("asker")].count("ExternalRequestDone") == 1
