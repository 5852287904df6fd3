"""Start policies: `if_open` / `if_closed` decide what a start of a used workflow_id does."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from aion_actors import (
    Engine,
    WorkflowAlreadyRan,
    WorkflowAlreadyStarted,
    WorkflowFailed,
    WorkflowStatus,
)
from tests.queues import flows


def _runs(engine: Engine, workflow_id: str) -> list[str]:
    return [r.run_id for r in engine.list_runs() if r.workflow_id == workflow_id]


@pytest.mark.timeout(30)
def test_if_open_fail_is_the_default_and_raises_naming_the_open_run(engine: Engine) -> None:
    first = engine.start(flows.held, workflow_id="w")
    with pytest.raises(WorkflowAlreadyStarted) as raised:
        engine.start(flows.held, workflow_id="w", if_open="fail")
    assert raised.value.run_id == first.run_id
    assert _runs(engine, "w") == [first.run_id]


@pytest.mark.timeout(30)
def test_if_open_use_existing_returns_the_open_run_and_starts_nothing(engine: Engine) -> None:
    first = engine.start(flows.held, workflow_id="w")
    again = engine.start(flows.held, workflow_id="w", if_open="use_existing")
    assert again.run_id == first.run_id
    assert _runs(engine, "w") == [first.run_id]
    engine.signal("w", "go", "done")
    assert again.result(timeout=10) == "done"


@pytest.mark.timeout(30)
def test_if_open_terminate_existing_terminates_the_open_run_then_starts(engine: Engine) -> None:
    first = engine.start(flows.held, workflow_id="w")
    second = engine.start(flows.held, workflow_id="w", if_open="terminate_existing")
    assert second.run_id != first.run_id
    assert engine.describe("w").run_id == second.run_id
    statuses = {r.run_id: r.status for r in engine.list_runs()}
    assert statuses[first.run_id] is WorkflowStatus.TERMINATED
    assert statuses[second.run_id] is WorkflowStatus.RUNNING
    engine.signal("w", "go", 1)
    assert second.result(timeout=10) == "1"


@pytest.mark.timeout(30)
def test_if_closed_allow_is_the_default_and_starts_a_new_run(engine: Engine) -> None:
    assert engine.start(flows.quick, 1, workflow_id="w").result(timeout=10) == 1
    assert engine.start(flows.quick, 2, workflow_id="w").result(timeout=10) == 2
    assert len(_runs(engine, "w")) == 2


@pytest.mark.timeout(30)
def test_if_closed_reject_refuses_any_closed_run_and_records_nothing(engine: Engine) -> None:
    engine.start(flows.quick, 1, workflow_id="w").result(timeout=10)
    with pytest.raises(WorkflowAlreadyRan, match="if_closed='reject'"):
        engine.start(flows.quick, 2, workflow_id="w", if_closed="reject")
    assert len(_runs(engine, "w")) == 1
    # a never-used workflow_id starts under "reject"
    assert engine.start(flows.quick, 3, workflow_id="new", if_closed="reject").result(10) == 3


@pytest.mark.timeout(30)
def test_if_closed_allow_if_failed_starts_after_a_failure_only(engine: Engine) -> None:
    failed = engine.start(flows.fails, workflow_id="f")
    with pytest.raises(WorkflowFailed):
        failed.result(timeout=10)
    retried = engine.start(flows.fails, workflow_id="f", if_closed="allow_if_failed")
    assert retried.run_id != failed.run_id
    engine.start(flows.quick, 1, workflow_id="ok").result(timeout=10)
    with pytest.raises(WorkflowAlreadyRan, match="ended completed"):
        engine.start(flows.quick, 2, workflow_id="ok", if_closed="allow_if_failed")


@pytest.mark.timeout(30)
def test_if_closed_use_existing_returns_the_closed_run_with_its_result_and_runs_nothing(
    engine: Engine,
) -> None:
    first = engine.start(flows.quick, 7, workflow_id="once")
    assert first.result(timeout=10) == 7
    again = engine.start(flows.quick, 8, workflow_id="once", if_closed="use_existing")
    assert again.run_id == first.run_id
    assert again.result(timeout=10) == 7
    assert _runs(engine, "once") == [first.run_id]


@pytest.mark.timeout(30)
def test_start_many_applies_the_policy_to_each_workflow_id(engine: Engine) -> None:
    open_run = engine.start(flows.held, workflow_id="a")
    handles = engine.start_many(
        flows.held, [(), ()], workflow_ids=["a", "b"], if_open="use_existing"
    )
    assert handles[0].run_id == open_run.run_id
    assert handles[1].workflow_id == "b" and len(_runs(engine, "b")) == 1


@pytest.mark.timeout(60)
@pytest.mark.parametrize("closed_first", [False, True])
def test_concurrent_use_existing_starts_of_one_id_all_get_the_same_single_run(
    engine: Engine, closed_first: bool
) -> None:
    if closed_first:
        engine.start(flows.quick, 1, workflow_id="w").result(timeout=10)
    barrier = threading.Barrier(8)

    def start(_: int) -> str:
        barrier.wait()
        flow = flows.quick if closed_first else flows.held
        handle = engine.start(
            flow, workflow_id="w", if_open="use_existing", if_closed="use_existing"
        )
        return handle.run_id

    with ThreadPoolExecutor(8) as pool:
        run_ids = set(pool.map(start, range(8)))
    assert len(run_ids) == 1
    assert _runs(engine, "w") == list(run_ids)


@pytest.mark.timeout(30)
def test_an_unknown_policy_is_refused_naming_the_choices(engine: Engine) -> None:
    with pytest.raises(ValueError, match=r"if_open=.maybe.*use_existing"):
        engine.start(flows.quick, workflow_id="w", if_open="maybe")
    with pytest.raises(ValueError, match=r"if_closed=.never.*allow_if_failed"):
        engine.start(flows.quick, workflow_id="w", if_closed="never")
