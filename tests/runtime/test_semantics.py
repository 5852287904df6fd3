"""Workflow semantics real programs rely on: retry waits, gather failures, child ids."""

from __future__ import annotations

import pytest

from aion_actors import Engine, WorkflowStatus
from aion_actors.core import events as ev
from tests.runtime import semantics
from tests.workers.helpers import wait_until


@pytest.fixture
def engine(engine: Engine) -> Engine:
    engine.register(*semantics.ALL)
    return engine


def test_retry_waits_follow_the_policy_not_the_timer_resend_interval(engine: Engine) -> None:
    assert engine.start(semantics.retries_quickly, workflow_id="r").result(timeout=30) == 5
    history = engine.history("r")
    failed = [e for e in history if isinstance(e, ev.ActivityAttemptFailed)]
    scheduled = [e for e in history if isinstance(e, ev.ActivityScheduled)]
    assert [e.attempt for e in scheduled] == [1, 2, 3, 4, 5]
    for failure, retry in zip(failed, scheduled[1:], strict=True):
        assert failure.retry_at is not None
        planned_ms = (failure.retry_at - failure.recorded_at) / 1e6
        assert planned_ms == pytest.approx(50, abs=5)  # the policy's 0.05 s
        late_ms = (retry.recorded_at - failure.retry_at) / 1e6
        assert 0 <= late_ms < 500, f"attempt {retry.attempt} started {late_ms:.0f} ms late"


def test_gather_raises_the_first_failure_without_waiting_for_the_other_parts(
    engine: Engine,
) -> None:
    run = engine.start(semantics.gathers_failure_with_long_sleep, workflow_id="g")
    assert run.result(timeout=30) == "raised ValueError"  # the 600 s sleep did not hold it
    kinds = [e.kind for e in engine.history("g")]
    assert "TimerFired" not in kinds and kinds[-1] == "WorkflowCompleted"


def _runs_of(engine: Engine, workflow_id: str) -> list[WorkflowStatus]:
    return [run.status for run in engine.list_runs() if run.workflow_id == workflow_id]


def test_a_child_is_refused_an_id_that_has_an_open_run_and_nothing_starts(
    engine: Engine,
) -> None:
    top = engine.start(semantics.short, 7, True, workflow_id="top")
    parent = engine.start(semantics.child_with_taken_id, "top", workflow_id="p")
    refusal = parent.result(timeout=30)
    assert refusal.startswith("WorkflowAlreadyStarted:") and "'top'" in refusal
    assert _runs_of(engine, "top") == [WorkflowStatus.RUNNING]  # the client's run, alone
    engine.signal("top", "go")
    assert top.result(timeout=30) == 7


def test_two_children_gathered_under_one_id_start_one_and_refuse_the_other(
    engine: Engine,
) -> None:
    parent = engine.start(semantics.two_children_one_id, workflow_id="p2")
    wait_until(lambda: _runs_of(engine, "twin") == [WorkflowStatus.RUNNING], 10, "first twin")
    engine.signal("twin", "go")
    assert parent.result(timeout=30) == [1, "ChildWorkflowError"]
    assert _runs_of(engine, "twin") == [WorkflowStatus.COMPLETED]


def test_a_child_id_used_again_after_its_first_child_ended_gets_its_own_result(
    engine: Engine,
) -> None:
    assert engine.start(semantics.reuses_child_id, workflow_id="p3").result(timeout=30) == [1, 2]
    assert sorted(_runs_of(engine, "c")) == [WorkflowStatus.COMPLETED] * 2
