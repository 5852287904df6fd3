"""A parent whose node dies right after it asked another node to start its child: the
node that takes the parent's partition replays it, and the child runs once."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors import Engine
from tests.nodes import flows
from tests.nodes.node_child import LEASE
from tests.nodes.test_request_crashes import _kill, _order, _requests_left, _spawn, _until


@pytest.mark.timeout(120)
def test_a_child_asked_of_another_node_by_a_node_killed_right_after_starts_once(
    pg_url: str, tmp_path: Path
) -> None:
    dying = _spawn(pg_url, "dying", tmp_path / "dying.log", faults="child.requested:1", share=64)
    try:
        with Engine.open(pg_url, workers=1, node_id="next", **LEASE) as survivor:  # type: ignore[arg-type]
            survivor.register(*flows.ALL)
            _until(lambda: survivor.stats()["partitions"] == 32)  # dying gave half up
            node = survivor._parts.node  # noqa: SLF001 - which partitions it owns
            assert node is not None
            pid = next(f"p{i}" for i in range(10_000) if not node.owns(f"p{i}"))
            kids = [f"k{i}" for i in range(10_000) if node.owns(f"k{i}")][:4]
            _order(dying, f"parent {pid} {','.join(kids)}")
            assert dying.wait(30) == -9  # killed once its first child's request committed
            assert survivor.result(pid, timeout=40) == [2, 4, 6, 101]
            assert survivor.stats()["partitions"] == 64
            runs = [r.workflow_id for r in survivor.store.runs()]
            assert [runs.count(kid) for kid in kids] == [1, 1, 1, 2]  # (the relay continued)
            _until(lambda: _requests_left(survivor) == 0)
    finally:
        _kill(dying)
