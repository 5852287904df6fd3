"""Requests between nodes survive a SIGKILL of either side: a call acknowledged by a
node that dies right after is still applied, once; requests the owner had read but not
applied when it died are applied by the partition's next owner, once."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from aion_actors import Engine, QueryError
from aion_actors.core import events as ev
from tests.crashes import kill_engine
from tests.nodes import flows
from tests.nodes.conftest import until as _until
from tests.nodes.node_child import LEASE

ROOT = Path(__file__).resolve().parents[2]


def _spawn(url: str, node_id: str, log: Path, faults: str = "", share: int = 32):  # type: ignore[no-untyped-def]
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.nodes.call_child", url, node_id, str(share)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        start_new_session=True,
        env={**os.environ, "AION_FAULTS": faults},
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "READY"
    return child


def _kill(child) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL what is left of the child's process group (its fault point may have)."""
    with contextlib.suppress(ProcessLookupError):
        kill_engine(child)


def _order(child, line: str) -> None:  # type: ignore[no-untyped-def]
    child.stdin.write(line + "\n")
    child.stdin.flush()


def _owned_by(engine: Engine, prefix: str) -> str:
    node = engine._parts.node  # noqa: SLF001 - which partitions it owns
    assert node is not None
    return next(f"{prefix}{i}" for i in range(10_000) if node.owns(f"{prefix}{i}"))


def _signals(engine: Engine, wid: str) -> list[object]:
    return [e.payload for e in engine.history(wid) if isinstance(e, ev.SignalReceived)]


def _requests_left(engine: Engine) -> int:
    store = engine.store
    return int(
        store._read(lambda c, s: c.execute(f"SELECT count(*) FROM {s}.requests").fetchone()[0])  # type: ignore[attr-defined]  # noqa: SLF001
    )


@pytest.mark.timeout(90)
def test_a_signal_acknowledged_by_a_node_killed_right_after_is_delivered_once(
    pg_url: str, tmp_path: Path
) -> None:
    with Engine.open(pg_url, workers=1, node_id="owner", **LEASE) as owner:  # type: ignore[arg-type]
        owner.register(*flows.ALL)
        asker = _spawn(pg_url, "asker", tmp_path / "asker.log", faults="request.written:1")
        try:
            _until(lambda: owner.stats()["partitions"] == 32)
            wid = _owned_by(owner, "s")
            owner.start(flows.waiter, 1, workflow_id=wid)
            _order(asker, f"signal {wid} hello")
            asker.wait(30)  # killed by its fault point once the request row committed
            assert asker.returncode == -9
            assert owner.result(wid, timeout=30) == ["hello"]
            assert _signals(owner, wid) == ["hello"]
            assert _requests_left(owner) == 0
        finally:
            _kill(asker)


@pytest.mark.timeout(120)
def test_requests_read_by_an_owner_killed_before_applying_them_are_applied_once_by_the_next(
    pg_url: str, tmp_path: Path
) -> None:
    # the owner dies when it reads its second request (the first is the start)
    dying = _spawn(pg_url, "dying", tmp_path / "dying.log", faults="request.applying:2", share=64)
    try:
        with Engine.open(pg_url, workers=1, node_id="next", **LEASE) as survivor:  # type: ignore[arg-type]
            survivor.register(*flows.ALL)
            _until(lambda: survivor.stats()["partitions"] == 32)  # dying gave half up
            dying_node = [i for i in range(10_000) if not survivor._parts.node.owns(f"k{i}")]  # noqa: SLF001
            wid = f"k{dying_node[0]}"
            survivor.start(flows.waiter, 1, workflow_id=wid)  # applied by `dying`
            # signalled from here: `dying` reads the request and dies; this call waits
            # for an answer, which the partition's next owner (this node) gives
            survivor.signal(wid, "item", "once")
            assert dying.wait(30) == -9
            assert survivor.stats()["partitions"] == 64
            assert survivor.result(wid, timeout=30) == ["once"]
            assert _signals(survivor, wid) == ["once"]
            assert _requests_left(survivor) == 0
    finally:
        _kill(dying)


@pytest.mark.timeout(90)
def test_a_query_whose_owner_is_frozen_raises_query_error_naming_the_owner(
    pg_url: str, tmp_path: Path
) -> None:
    owner = _spawn(pg_url, "frozen", tmp_path / "frozen.log", share=64)
    try:
        with Engine.open(pg_url, workers=1, node_id="asks", lease=30.0, renew_every=0.25) as asks:
            asks.register(*flows.ALL)
            _until(lambda: asks.stats()["partitions"] == 32)
            wid = next(f"f{i}" for i in range(10_000) if not asks._parts.node.owns(f"f{i}"))  # noqa: SLF001
            asks.start(flows.waiter, 1, workflow_id=wid)
            assert asks.query(wid, "items", timeout=10) == []  # answered by `frozen`
            os.killpg(owner.pid, signal.SIGSTOP)
            with pytest.raises(QueryError, match=r"node 'frozen', its owner"):
                asks.query(wid, "items", timeout=0.3)
            assert _requests_left(asks) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(owner.pid, signal.SIGCONT)
        _kill(owner)
