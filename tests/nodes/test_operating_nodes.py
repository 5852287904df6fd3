"""Operating nodes: `aion-actors nodes` lists each node with its partitions and open runs (a
killed one as dead once its heartbeat expired), and `describe` names a run's owner node."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aion_actors import Engine
from aion_actors.cli import main
from aion_actors.store.postgres import partition_of
from tests.crashes import kill_engine
from tests.nodes import flows
from tests.nodes.node_child import LEASE
from tests.nodes.test_failover import _spawn, _until


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["node_id"]: n for n in doc["nodes"]}


@pytest.mark.timeout(120)
def test_nodes_lists_each_nodes_partitions_and_open_runs_and_a_killed_node_as_dead(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _spawn(pg_url, "a", tmp_path / "ledger", tmp_path / "a.log", 0, 0.0, 0.0)
    try:
        with Engine.open(pg_url, workers=1, node_id="b", **LEASE) as b:  # type: ignore[arg-type]
            b.register(*flows.ALL)
            _until(lambda: b.stats()["partitions"] == 32)
            # three runs waiting on an hour's timer, each in one of b's partitions
            ids = [
                b.start(flows.chain, str(tmp_path / "l"), 0.0, 3600.0).workflow_id for _ in range(3)
            ]
            _until(lambda: all(len(b.history(w)) >= 4 for w in ids))
            doc = _json(capsys, "nodes", pg_url)
            nodes = _by_id(doc)
            assert sorted(nodes) == ["a", "b"]
            assert [nodes[n]["alive"] for n in "ab"] == [True, True]
            assert [nodes[n]["partitions"] for n in "ab"] == [32, 32]
            assert (nodes["a"]["open_runs"], nodes["b"]["open_runs"]) == (0, 3)
            assert nodes["a"]["pid"] == a.pid and doc["unowned"] == []
            owners = {p["partition"]: p["owner"] for p in doc["partitions"]}
            assert {owners[partition_of(w, 64)] for w in ids} == {"b"}
            assert all(0 < p["expires_in_s"] <= LEASE["lease"] for p in doc["partitions"])
            # describe names the owner node and the partition, from the engine and the CLI
            wid = ids[0]
            described = b.describe(wid)
            assert (described.owner, described.partition) == ("b", partition_of(wid, 64))
            shown = _json(capsys, "describe", pg_url, wid)
            assert (shown["owner"], shown["partition"]) == ("b", partition_of(wid, 64))
            assert main(["nodes", pg_url]) == 0
            table = capsys.readouterr().out
            assert "2 node(s)" in table and "alive" in table and "0 of 64 partitions" in table

            kill_engine(a)
            _until(lambda: b.stats()["partitions"] == 64)  # a's leases expired: b took them
            nodes = _by_id(_json(capsys, "nodes", pg_url))
            assert (nodes["a"]["alive"], nodes["a"]["partitions"]) == (False, 0)
            assert nodes["a"]["heartbeat_age_s"] > 0
            assert (nodes["b"]["partitions"], nodes["b"]["open_runs"]) == (64, 3)
            assert main(["nodes", pg_url]) == 0
            assert "dead" in capsys.readouterr().out
    finally:
        if a.poll() is None:
            kill_engine(a)


@pytest.mark.timeout(60)
def test_nodes_of_a_data_directory_is_a_usage_error_and_describe_there_names_no_owner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    with Engine.open(data, workers=1) as engine:
        engine.register(*flows.ALL)
        handle = engine.start(flows.chain, str(tmp_path / "l"), 0.0, 0.0, workflow_id="w")
        handle.result(timeout=30)
        described = engine.describe("w")
        assert (described.owner, described.partition) == (None, None)
    shown = _json(capsys, "describe", str(data), "w")
    assert (shown["owner"], shown["partition"]) == (None, None)
    assert main(["nodes", str(data)]) == 2
    assert "give its postgresql:// URL" in capsys.readouterr().err
