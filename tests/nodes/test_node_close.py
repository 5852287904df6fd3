"""A node's `close()` stops everything it started, even while it applies other nodes'
calls: no thread of its own outlives it, and what it had not applied stays recorded
for the partitions' next owner."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from aion_actors import Engine
from tests.nodes import flows
from tests.nodes.cluster import NodeProc, completed
from tests.nodes.conftest import until
from tests.nodes.node_child import LEASE


def _ours(before: set[threading.Thread]) -> list[str]:
    return sorted(t.name for t in set(threading.enumerate()) - before if t.is_alive())


@pytest.mark.timeout(180)
def test_a_nodes_close_leaves_no_thread_of_its_own_running_and_loses_no_call(
    pg_url: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger"
    ledger.touch()
    other = NodeProc(pg_url, "other", ledger, tmp_path)
    try:
        before = set(threading.enumerate())
        engine = Engine.open(pg_url, workers=1, node_id="here", **LEASE)  # type: ignore[arg-type]
        engine.register(*flows.ALL)
        until(lambda: engine.stats()["partitions"] == 32, 30)
        assert any(name.startswith("aion-node-apply") for name in _ours(before))
        ids = [f"c{i}" for i in range(120)]
        # the other node starts them all: half are this node's, applied by its workers
        other.send(f"start {','.join(ids)}")
        until(lambda: completed(pg_url) > 0 or ledger.stat().st_size > 0, 60)
        engine.close()  # while the starts and their runs go on

        assert [n for n in _ours(before) if n.startswith(("aion-node", "aion-queue"))] == []
        until(lambda: _ours(before) == [], 10)
        assert other.next() == "DONE start"  # every start answered: by here, or by the next owner
        for wid in ids:
            other.send(f"signal {wid} {wid}:1")
        assert other.signals(len(ids), {}) == []
        until(lambda: completed(pg_url) == len(ids), 120)
    finally:
        other.kill()
