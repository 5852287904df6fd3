"""The engine's pruner deletes closed runs once their retention has passed, and nothing else."""

from __future__ import annotations

import time
from typing import Any

import pytest

from aion_actors import Engine, WorkflowContext, WorkflowStatus, workflow
from aion_actors.config import Config
from supervisor import LONGEST_WAIT
from tests.retention import flows
from tests.retention.conftest import assert_no_leftovers, watch
from tests.workers.helpers import wait_until

ON_POSTGRES = True  # every test that takes `data` (or `engine`) runs on Postgres too


def ids(engine: Engine) -> list[str]:
    return sorted(run.workflow_id for run in engine.list_runs())


@pytest.mark.timeout(60)
def test_the_pruner_deletes_expired_closed_runs_of_types_with_a_retention_only(
    engine: Engine, data: Any
) -> None:
    pruned = watch(engine)
    engine.start(flows.kept, 1, workflow_id="kept").result(timeout=30)
    engine.start(flows.unspecified, 2, workflow_id="unspecified").result(timeout=30)
    engine.start(flows.waits, workflow_id="open")
    engine.start(flows.brief, 3, workflow_id="brief").result(timeout=30)
    pruned.wait_for("brief")
    assert pruned.ids == ["brief"]
    assert ids(engine) == ["kept", "open", "unspecified"]
    assert engine.describe("open").status is WorkflowStatus.RUNNING
    assert engine.history("kept")[-1].kind == "WorkflowCompleted"
    engine.signal("open", "go", "now")
    assert engine.result("open", timeout=30) == "now"
    pruned.wait_for("open")  # once closed, it goes too
    assert ids(engine) == ["kept", "unspecified"]
    assert engine.stats()["runs_pruned"] == 2
    assert_no_leftovers(engine.store, data)


@pytest.mark.timeout(60)
def test_a_child_is_kept_while_its_parent_is_open(engine: Engine) -> None:
    pruned = watch(engine)
    flows.CHILD_RETURNED.clear()
    engine.start(flows.parent, workflow_id="parent")
    assert flows.CHILD_RETURNED.wait(30)
    engine.start(flows.brief, 1, workflow_id="later").result(timeout=30)
    pruned.wait_for("later")  # closed after the child, with the same retention: gone
    assert "the-child" in ids(engine)
    engine.signal("parent", "finish")
    assert engine.result("parent", timeout=30) == 7
    pruned.wait_for("the-child")  # its parent (kept an hour) closed: it goes now
    assert ids(engine) == ["parent"]


@pytest.mark.timeout(60)
def test_the_config_file_sets_retention_where_the_decorator_does_not(data: Any) -> None:
    config = Config.parse('[retention]\ndefault = "1h"\n[retention.unspecified]\nkeep = 0.2\n')
    with Engine.open(data, workers=1, config=config) as engine:
        engine.register(*flows.ALL)
        pruned = watch(engine)
        engine.start(flows.kept, 1, workflow_id="kept").result(timeout=30)  # decorator: None
        engine.start(flows.unspecified, 2, workflow_id="unspecified").result(timeout=30)
        pruned.wait_for("unspecified")
        assert ids(engine) == ["kept"]


@pytest.mark.timeout(60)
def test_runs_closed_before_a_restart_are_pruned_after_it(data: Any) -> None:
    with Engine.open(data, workers=1) as engine:  # `brief` is not registered: kept
        engine.register(flows.kept)
        engine.start(flows.kept, 1, workflow_id="kept").result(timeout=30)
        engine.register(flows.brief)
        # registered only now: its retention applies from the next look at the store
        engine.start(flows.brief, 1, workflow_id="brief").result(timeout=30)
        engine.close()
    with Engine.open(data, workers=1) as engine:
        pruned = watch(engine)
        engine.register(flows.brief, flows.kept)  # the registration wakes the pruner
        pruned.wait_for("brief")
        assert ids(engine) == ["kept"]


@workflow(name="ledger", retention="20000w")  # 383 years: ends in the 2400s, before LAST_NS
async def ledger(ctx: WorkflowContext, n: int) -> int:
    return n


@pytest.mark.timeout(60)
def test_the_pruner_keeps_pruning_other_types_while_it_waits_centuries_for_one(
    engine: Engine, data: Any
) -> None:
    engine.register(ledger)
    pruned = watch(engine)
    pruner = engine._pruner  # noqa: SLF001 - the test watches the pruner's sleep
    engine.start(ledger, 1, workflow_id="ledger").result(timeout=30)
    far = time.time_ns() + int(2 * LONGEST_WAIT * 1e9)

    def asleep_for_centuries() -> bool:  # it has looked, and waits for the ledger's expiry
        return (pruner._wake_at or 0) > far  # noqa: SLF001

    wait_until(asleep_for_centuries, 30, "the pruner to sleep until the ledger's expiry")
    engine.start(flows.brief, 2, workflow_id="brief").result(timeout=30)
    pruned.wait_for("brief")
    assert ids(engine) == ["ledger"]
    assert pruner._thread.is_alive()  # noqa: SLF001
