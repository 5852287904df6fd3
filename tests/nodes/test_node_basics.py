"""Nodes in one process: partitions shared, calls gated, leases given up on close."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors import Engine, WorkflowNotFound
from tests.nodes import flows
from tests.nodes.conftest import until as _until


@pytest.mark.timeout(60)
def test_a_lone_node_owns_every_partition_and_runs_to_completion(
    pg_url: str, tmp_path: Path
) -> None:
    ledger = str(tmp_path / "ledger")
    with Engine.open(pg_url, workers=1, node_id="solo", lease=2.0, renew_every=0.5) as engine:
        assert engine.stats()["partitions"] == 64
        engine.register(*flows.ALL)
        handle = engine.start(flows.chain, ledger, 0.0, 0.1, workflow_id="w1")
        assert [r.split("@")[0] for r in handle.result(timeout=30)] == ["w1/a", "w1/b"]


def _owned_elsewhere(engine: Engine) -> str:
    return next(f"w{i}" for i in range(10_000) if not engine._parts.node.owns(f"w{i}"))  # noqa: SLF001


@pytest.mark.timeout(60)
def test_two_nodes_share_the_partitions_evenly_and_send_calls_for_the_others_runs_there(
    pg_url: str, tmp_path: Path
) -> None:
    opts = {"workers": 1, "lease": 2.0, "renew_every": 0.3}
    with (
        Engine.open(pg_url, node_id="a", **opts) as a,
        Engine.open(pg_url, node_id="b", **opts) as b,
    ):
        _until(lambda: a.stats()["partitions"] == b.stats()["partitions"] == 32)
        a.register(*flows.ALL)
        b.register(*flows.ALL)
        foreign = _owned_elsewhere(a)
        with pytest.raises(WorkflowNotFound):  # answered by its owner, b
            a.pause(foreign)
        handle = b.start(flows.chain, str(tmp_path / "l"), 0.0, 0.0, workflow_id=foreign)
        assert len(handle.result(timeout=30)) == 2
        assert a.describe(foreign).status.value == "completed"  # reads work from any node
        assert a.history(foreign)
        # a start without an id gets one in a partition the node owns
        fresh = a.start(flows.chain, str(tmp_path / "l"), 0.0, 0.0)
        assert a._parts.node.owns(fresh.workflow_id)  # noqa: SLF001
        assert len(fresh.result(timeout=30)) == 2


@pytest.mark.timeout(60)
def test_a_closed_node_gives_its_partitions_up_at_once(pg_url: str) -> None:
    opts = {"workers": 1, "lease": 30.0, "renew_every": 0.3}  # expiry would take 30 s
    with Engine.open(pg_url, node_id="stays", **opts) as stays:
        leaving = Engine.open(pg_url, node_id="leaves", **opts)
        _until(lambda: leaving.stats()["partitions"] == 32)
        leaving.close()
        _until(lambda: stays.stats()["partitions"] == 64, timeout=10)
