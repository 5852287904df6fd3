"""LMDB retention: deletions in chunks that a reopen finishes, and the expiry index kept
in step with the run index (built on open for older stores, checked and rebuilt by doctor)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import lmdb
import pytest

from aion_actors.core import events as ev
from aion_actors.store import LmdbStore, _lmdb_prune
from tests.store.helpers import signals, started
from tests.store.test_prune import FAR, close, keep

ROOT = Path(__file__).resolve().parents[2]
#: a history spanning several deletion transactions
LONG = 3 * _lmdb_prune.CHUNK + 10

CHILD = """
import sys
from aion_actors.core import events as ev
from aion_actors.store import LmdbStore
from tests.store.helpers import signals, started
with LmdbStore(sys.argv[1], durability="nosync") as store:
    store.append("big", "r1", [started("bulk"), *signals({long})], 0)
    store.append("big", "r1", [ev.WorkflowCompleted(result=None)], {long} + 1)
    store.append("small", "r1", [started("bulk"), ev.WorkflowCompleted(result=None)], 0)
    store.append("open", "r1", [started("bulk")], 0)
    store.delete_run("big", "r1")  # killed by AION_FAULTS after its first transactions
    print("not killed", flush=True)
"""


def _events_of(path: Path, run: bytes) -> int:
    """How many `events` entries of `run` the data file holds (read with plain LMDB)."""
    env = lmdb.open(str(path), readonly=True, max_dbs=10, lock=False)
    try:
        db = env.open_db(b"events", create=False)
        with env.begin(db=db) as txn:
            return sum(1 for key in txn.cursor().iternext(values=False) if key.startswith(run))
    finally:
        env.close()


@pytest.mark.timeout(60)
def test_a_deletion_killed_half_way_leaves_the_run_invisible_and_a_reopen_finishes_it(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    child = subprocess.run(
        [sys.executable, "-c", CHILD.format(long=LONG), str(data)],
        cwd=ROOT,
        env={"AION_FAULTS": "prune.middle:2", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        timeout=60,
    )
    assert child.returncode == -9, child.stderr.decode()
    left = _events_of(data, b"big\0r1\0")
    assert 0 < left < LONG  # killed with part of the history deleted
    with LmdbStore(data, readonly=True) as inspector:  # invisible before anyone finishes it
        assert inspector.get_run("big", "r1") is None
        assert inspector.read("big", "r1") == []
        assert [r.workflow_id for r in inspector.runs()] == ["open", "small"]
        assert inspector.examine().findings == []
    with LmdbStore(data) as store:  # the owner's open finishes the deletion
        assert store.examine().findings == []
        assert [r.workflow_id for r in store.runs()] == ["open", "small"]
        assert len(store.read("small", "r1")) == 2
        assert [r.workflow_id for r in store.expired_runs(FAR, keep(bulk=0))] == ["small"]
    assert _events_of(data, b"big\0r1\0") == 0


def test_a_long_history_is_deleted_whole(tmp_path: Path) -> None:
    with LmdbStore(tmp_path / "data", durability="nosync") as store:
        store.append("big", "r1", [started("bulk"), *signals(LONG)], 0)
        close(store, "big")
        assert store.delete_run("big", "r1")
        assert store.examine().findings == []
        assert store.examine().events == 0


def test_a_store_written_before_the_expiry_index_gets_it_on_open(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with LmdbStore(data, durability="nosync") as store:
        store.append("done", "r1", [started("bulk"), ev.WorkflowCompleted(result=None)], 0)
        store.append("open", "r1", [started("bulk")], 0)
    env = lmdb.open(str(data), max_dbs=10)  # make it an older store: no expiry index
    with env.begin(write=True) as txn:
        txn.drop(env.open_db(b"expiry", txn=txn), delete=True)
        txn.delete(_lmdb_prune.BUILT_KEY, db=env.open_db(b"meta", txn=txn))
    env.close()
    with LmdbStore(data, readonly=True) as inspector:  # a reader copes without it
        assert inspector.expired_runs(FAR, keep(bulk=0)) == []
        assert inspector.examine().findings == []
    with LmdbStore(data) as store:
        assert [r.workflow_id for r in store.expired_runs(FAR, keep(bulk=0))] == ["done"]
        assert store.examine().findings == []


def test_examine_finds_a_closed_run_the_expiry_index_lost_and_rebuild_files_it(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with LmdbStore(data, durability="nosync") as store:
        store.append("done", "r1", [started("bulk"), ev.WorkflowCompleted(result=None)], 0)
        store.append("kid", "r1", [started("bulk", parent={"workflow_id": "p", "run_id": "r1"})], 0)
    env = lmdb.open(str(data), max_dbs=10)
    with env.begin(write=True) as txn:
        txn.drop(env.open_db(b"expiry", txn=txn), delete=False)
    env.close()
    with LmdbStore(data) as store:
        problems = [str(f) for f in store.examine().findings]
        assert problems == [
            "expiry: workflow 'done', run r1: closed, but not in the expiry index (the pruner "
            "would keep it)"
        ]
        store.rebuild_index()
        assert store.examine().findings == []
        assert [r.workflow_id for r in store.expired_runs(FAR, keep(bulk=0))] == ["done"]
