"""`Engine.start_many`: many runs on shared commits, all checked before any is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors import (
    ConfigError,
    Engine,
    PayloadError,
    WorkflowAlreadyStarted,
    WorkflowNotFound,
    WorkflowStatus,
)
from tests.runtime import flows, prims


def test_starts_every_run_in_order_and_each_completes(engine: Engine) -> None:
    ids = [f"order-{i}" for i in range(20)]
    handles = engine.start_many(flows.three_steps, [(i,) for i in range(20)], workflow_ids=ids)
    assert [h.workflow_id for h in handles] == ids
    assert len({h.run_id for h in handles}) == 20
    assert [h.result(timeout=30) for h in handles] == [i + 111 for i in range(20)]
    assert engine.history("order-7")[0].input == [7]


def test_started_runs_are_durable_when_it_returns(data_dir: Path) -> None:
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*prims.ALL)
        handles = engine.start_many(prims.child_waits_for_signal, [()] * 5)
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*prims.ALL)
        for handle in handles:
            assert engine.describe(handle.workflow_id).status == WorkflowStatus.RUNNING
            engine.signal(handle.workflow_id, "value", 1)
            assert engine.result(handle.workflow_id, timeout=30) == 1


def test_an_open_workflow_id_refuses_the_whole_batch(engine: Engine) -> None:
    first = engine.start(prims.child_waits_for_signal, workflow_id="busy")
    with pytest.raises(WorkflowAlreadyStarted) as refused:
        engine.start_many(flows.three_steps, [(1,), (2,)], workflow_ids=["fresh", "busy"])
    assert refused.value.run_id == first.run_id
    with pytest.raises(WorkflowNotFound):
        engine.describe("fresh")
    assert engine.start(flows.three_steps, 1, workflow_id="fresh").result(timeout=30) == 112


def test_a_workflow_id_given_twice_names_both_inputs(engine: Engine) -> None:
    with pytest.raises(ConfigError, match=r"'twin' is given twice \(inputs 0 and 2\)"):
        engine.start_many(flows.three_steps, [(1,)] * 3, workflow_ids=["twin", "other", "twin"])
    with pytest.raises(WorkflowNotFound):
        engine.describe("other")


def test_a_bad_input_names_its_index_and_nothing_is_written(engine: Engine) -> None:
    with pytest.raises(PayloadError, match=r"inputs\[1\]\[0\]: set is not serialisable"):
        engine.start_many(flows.three_steps, [(1,), ({2},)], workflow_ids=["ok", "bad"])
    with pytest.raises(PayloadError, match=r"inputs\[0\]: must be a tuple of the run's arguments"):
        engine.start_many(flows.three_steps, [1, 2], workflow_ids=["ok", "bad"])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="got 1 workflow_ids for 2 inputs"):
        engine.start_many(flows.three_steps, [(1,), (2,)], workflow_ids=["ok"])
    assert engine.list_runs() == []
    assert engine.start_many(flows.three_steps, []) == []
