"""A child that continued as new is the same child: its parent follows it across restarts."""

from __future__ import annotations

from pathlib import Path

from aion_actors import Engine, WorkflowStatus
from tests.reliability import flows
from tests.workers.helpers import wait_until


def _relay_waits(engine: Engine) -> bool:
    """The child's second run (after continue-as-new) is running."""
    runs = [r for r in engine.list_runs() if r.workflow_id == "relay"]
    return len(runs) == 2 and any(r.status == WorkflowStatus.RUNNING for r in runs)


def test_a_continued_child_reports_its_last_run_to_its_parent(engine: Engine) -> None:
    run = engine.start(flows.relays_child, workflow_id="parent")
    wait_until(lambda: _relay_waits(engine), 30, "the child's second run")
    engine.signal("relay", "go", "from the second run")
    assert run.result(timeout=30) == "from the second run"


def test_a_continued_child_is_followed_after_the_engine_restarts(data_dir: Path) -> None:
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL)
        engine.start(flows.relays_child, workflow_id="parent")
        wait_until(lambda: _relay_waits(engine), 30, "the child's second run")
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL)
        engine.query("parent", "child")  # the parent is replayed and resumes its child
        assert engine.query("parent", "child") == "running"  # after what the replay set off
        engine.signal("relay", "go", "after the restart")
        assert engine.result("parent", timeout=30) == "after the restart"


def test_cancelling_a_parent_cancels_its_continued_child(engine: Engine) -> None:
    engine.start(flows.relays_child, workflow_id="parent")
    wait_until(lambda: _relay_waits(engine), 30, "the child's second run")
    engine.cancel("parent")
    wait_until(
        lambda: engine.describe("relay").status == WorkflowStatus.CANCELLED, 5, "child cancel"
    )
