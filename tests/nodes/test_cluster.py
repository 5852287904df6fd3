"""The issue's cluster tests: three nodes in three processes under load, one SIGKILLed
and a new one joining; a rolling restart of all three, each restarted under its own
node id. Every run completes as an uncrashed run does, nothing acknowledged is lost
or applied twice, no activity starts again once its completion is recorded, and no
two nodes ever record events for one run.

1,000 runs (each with an activity, a timer, a signal, a child on whichever node owns
its id, another activity; `AION_CLUSTER_RUNS` sets another count), about half a
minute each on 2 cores; the first test sends `SENDERS` signals at a time from each
node (so that many are in flight when one is killed); 1 s leases, lost and retaken
under load on a loaded 2-core machine. A restarted node joins while the next batch
starts. A failure prints the runs left open, their children, the request rows left
(decoded), the lease epochs of their partitions and the tail of each node's log.

Races these tests found, each fixed at its root with a deterministic test of its own:
a watch registered while the append closing its run was in flight (a parent left
waiting for a child that completed: `test_watch_races.py`); a local call whose
partition moved before its write, which raised `OwnershipLost` (or the error of a
run dropped from under it) instead of going to the new owner (`test_moved_calls.py`)
— the same error a restart under the same node id once met.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from tests.nodes.cluster import (
    NodeProc,
    check_cluster,
    completed,
    install_audit,
    owners,
    stuck,
    until,
)

#: signals in flight at once from each node of the first test
SENDERS = 8


def _runs() -> int:
    return int(os.environ.get("AION_CLUSTER_RUNS", 0)) or 1000


def _chunks(ids: list[str], size: int) -> list[str]:
    return [",".join(ids[i : i + size]) for i in range(0, len(ids), size)]


def _cluster(url: str, tmp_path: Path, ledger: Path, senders: int = 1) -> list[NodeProc]:
    first = NodeProc(url, "n1", ledger, tmp_path, senders=senders)
    install_audit(url)  # (the schema exists once the first node opened it)
    later = [NodeProc(url, n, ledger, tmp_path, wait=False, senders=senders) for n in ("n2", "n3")]
    nodes = [first, *(node.ready() for node in later)]
    until(lambda: sorted(owners(url).values()) in ([21, 21, 22], [21, 22, 21]), 30, "balance")
    return nodes


@pytest.mark.timeout(600)
def test_three_nodes_one_killed_and_one_joining_complete_every_run_once(
    pg_url: str, tmp_path: Path
) -> None:
    n = _runs()
    ledger = tmp_path / "ledger"
    ledger.touch()
    nodes = _cluster(pg_url, tmp_path, ledger, senders=SENDERS)
    joined: list[NodeProc] = []
    try:
        ids = [f"m{i}" for i in range(n)]
        for k, node in enumerate(nodes):  # started round-robin, from every node
            node.send(*(f"start {chunk}" for chunk in _chunks(ids[k::3], 50)))
        for k, node in enumerate(nodes):
            for _ in _chunks(ids[k::3], 50):
                assert node.next() == "DONE start"
        # signals from a node other than the one that started the run; n2 dies mid-way
        sent = {k: ids[(k + 1) % 3 :: 3] for k in range(3)}
        for k, node in enumerate(nodes):
            node.send(*(f"signal {wid} {wid}:1" for wid in sent[k]))
        acked: dict[str, str] = {}
        refused = nodes[1].signals(len(sent[1]) // 3, acked)
        nodes[1].kill()
        for k in (0, 2):
            refused += nodes[k].signals(len(sent[k]), acked)
        joined.append(NodeProc(pg_url, "n4", ledger, tmp_path, senders=SENDERS))
        # sent again, from the others: the dead node's unacknowledged, and the refused
        lost = list(dict.fromkeys([wid for wid in sent[1] if wid not in acked] + refused))
        for attempt in range(2, 10):
            pairs = list(zip(itertools.cycle([nodes[0], nodes[2]]), lost, strict=False))
            for node, wid in pairs:
                node.send(f"signal {wid} {wid}:{attempt}")
            lost = [w for node, _ in pairs for w in node.signals(1, acked)]
            if not lost:
                break
        until(lambda: completed(pg_url) == n, 240, "runs", lambda: stuck(pg_url, tmp_path))
        until(lambda: len(owners(pg_url)) == 3, 30, "the dead node's partitions taken")
        check_cluster(pg_url, ids, ledger, acked)
    finally:
        for node in [*nodes, *joined]:
            node.kill()


@pytest.mark.timeout(600)
def test_a_rolling_restart_of_three_nodes_under_load_loses_and_repeats_nothing(
    pg_url: str, tmp_path: Path
) -> None:
    n = _runs()
    ledger = tmp_path / "ledger"
    ledger.touch()
    nodes = _cluster(pg_url, tmp_path, ledger)
    try:
        ids = [f"r{i}" for i in range(n)]
        batches = _chunks(ids, max(1, n // 6))
        acked: dict[str, str] = {}
        for step, batch in enumerate(batches):
            live = [node.ready() for node in nodes]  # (one restarted joins meanwhile)
            restarting = None
            if step % 2 == 1:  # restart one node (gracefully), one at a time, under load
                restarting = nodes[step // 2 % 3]
                restarting.send("quit")
                live.remove(restarting)
            starter, signaller = live[0], live[-1]
            starter.send(f"start {batch}")
            assert starter.next() == "DONE start"
            batch_ids = batch.split(",")
            for attempt in range(1, 10):
                signaller.send(*(f"signal {wid} {wid}:{attempt}" for wid in batch_ids))
                batch_ids = signaller.signals(len(batch_ids), acked)  # (refused: again)
                if not batch_ids:
                    break
            if restarting is not None:
                while restarting.next() != "CLOSED":
                    pass
                assert restarting.proc.wait(60) == 0
                index = nodes.index(restarting)  # a new process under the same node id
                nodes[index] = NodeProc(pg_url, restarting.node_id, ledger, tmp_path, wait=False)
        for node in nodes:
            node.ready()
        until(lambda: completed(pg_url) == n, 240, "runs", lambda: stuck(pg_url, tmp_path))
        check_cluster(pg_url, ids, ledger, acked)
        assert len(acked) == n
    finally:
        for node in nodes:
            node.kill()
