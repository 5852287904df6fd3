"""A node id belongs to one live process: a second one is refused without harming the first,
and a node killed on this host may come back under its id at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from aion_actors import ConfigError, Engine

_ROOT = Path(__file__).resolve().parents[2]
#: a node in its own process with a long lease: prints READY, or the error that refused it
_NODE = """
import sys, time
from aion_actors import Engine
try:
    engine = Engine.open(sys.argv[1], workers=1, node_id=sys.argv[2], lease=30.0, renew_every=1.0)
except Exception as exc:
    print(type(exc).__name__, exc, flush=True)
    sys.exit(3)
print("READY", flush=True)
if sys.argv[3:] == ["stay"]:
    time.sleep(600)
engine.close()
"""
_LONG = {"lease": 30.0, "renew_every": 1.0}


def _registered(url: str) -> dict[str, dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-m", "aion_actors", "nodes", url, "--json"],
        capture_output=True,
        text=True,
        cwd=_ROOT,
        check=True,
    )
    return {node["node_id"]: node for node in json.loads(done.stdout)["nodes"]}


def _node(url: str, node_id: str, *then: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _NODE, url, node_id, *then],
        stdout=subprocess.PIPE,
        text=True,
        cwd=_ROOT,
        start_new_session=True,
    )


@pytest.mark.timeout(120)
def test_a_process_refused_a_live_nodes_id_leaves_that_node_registered(pg_url: str) -> None:
    slow = {"lease": 30.0, "renew_every": 10.0}  # no heartbeat writes its row back meanwhile
    with Engine.open(pg_url, workers=1, node_id="b", **slow):  # type: ignore[arg-type]
        for _ in range(2):  # a second try is refused too: the first deleted nothing
            second = _node(pg_url, "b")
            out, _ = second.communicate(timeout=60)
            assert second.returncode == 3, out
            assert "ConfigError" in out and "in use by a live node" in out
            registered = _registered(pg_url)
            assert list(registered) == ["b"] and registered["b"]["pid"] == os.getpid()


@pytest.mark.timeout(120)
def test_a_node_killed_on_this_host_comes_back_under_its_id_at_once(pg_url: str) -> None:
    killed = _node(pg_url, "k", "stay")
    assert killed.stdout is not None
    assert killed.stdout.readline().strip() == "READY"
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    assert _registered(pg_url)["k"]["pid"] == killed.pid  # its lease runs 30 s more
    with Engine.open(pg_url, workers=1, node_id="k", **_LONG) as back:  # type: ignore[arg-type]
        assert _registered(pg_url)["k"]["pid"] == os.getpid()
        assert back.stats()["partitions"] > 0


def test_a_live_nodes_id_on_another_process_is_refused_naming_it(pg_url: str) -> None:
    live = _node(pg_url, "held", "stay")
    try:
        assert live.stdout is not None
        assert live.stdout.readline().strip() == "READY"
        with pytest.raises(ConfigError, match=f"in use by a live node .*pid {live.pid}"):
            Engine.open(pg_url, workers=1, node_id="held", **_LONG)  # type: ignore[arg-type]
        assert _registered(pg_url)["held"]["pid"] == live.pid
    finally:
        os.killpg(live.pid, signal.SIGKILL)
        live.wait(timeout=30)
