"""A rolling deploy's node: `close(drain=)` lets its running activities finish and records
their outcomes under its own leases, so the node that takes its runs over does not run
them again."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors import Engine
from tests.nodes.conftest import until
from tests.runtime import drain_flows
from tests.runtime.drain_flows import announcements, two_steps, wait_announced


@pytest.mark.timeout(90)
def test_a_draining_node_records_its_running_activity_and_the_next_owner_runs_it_no_more(
    pg_url: str, tmp_path: Path
) -> None:
    opts = {"workers": 1, "lease": 30.0, "renew_every": 0.3}
    ledger = tmp_path / "ledger"
    with Engine.open(pg_url, node_id="stays", **opts) as stays:  # type: ignore[arg-type]
        stays.register(*drain_flows.ALL)
        leaving = Engine.open(pg_url, node_id="leaves", **opts)  # type: ignore[arg-type]
        leaving.register(*drain_flows.ALL)
        until(lambda: leaving.stats()["partitions"] == 32)
        node = leaving._parts.node  # noqa: SLF001 - which ids its partitions hold
        assert node is not None
        workflow_id = next(f"w{i}" for i in range(10_000) if node.owns(f"w{i}"))
        with announcements(tmp_path) as (announce, server):
            leaving.start(two_steps, announce, str(ledger), 0.5, "thread", workflow_id=workflow_id)
            wait_announced(server)
            leaving.close(drain=30)
        assert ledger.read_text().split() == ["first"]
        assert stays.result(workflow_id, timeout=60) == ["first", "second"]
        assert ledger.read_text().split() == ["first", "second"]
