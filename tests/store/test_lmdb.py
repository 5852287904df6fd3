"""What only the LMDB store does: on-disk layout, ownership, schema, corruption, growth."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import lmdb
import msgpack
import pytest

from aion_actors.core import (
    SCHEMA_VERSION,
    ConfigError,
    CorruptEvent,
    DataDirLocked,
    SchemaMismatch,
    WorkflowStatus,
    packb,
)
from aion_actors.core import events as ev
from aion_actors.core.errors import CorruptStore
from aion_actors.store import LmdbStore, Recorder
from tests.store.conftest import WAIT
from tests.store.helpers import seqs, signals, started

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "aion-data"


def _child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store.lmdb_child", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def owner(data: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process owning `data`, with a 64 KiB map it will have to grow."""
    proc = _child("owner", str(data), str(64 * 1024))
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    yield proc
    proc.kill()
    proc.communicate(timeout=WAIT)


def _order(proc: subprocess.Popen[str], line: str) -> str:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


def _raw(path: Path, name: bytes | None) -> dict[bytes, bytes]:
    env = lmdb.open(str(path), max_dbs=8, readonly=True, lock=False)
    try:
        with env.begin(db=env.open_db(name, create=False) if name else None) as txn:
            return dict(txn.cursor())
    finally:
        env.close()


def test_on_disk_layout_is_what_tools_expect(data: Path) -> None:
    with LmdbStore(data) as store:
        store.append("w", "r1", [started(), ev.TimerStarted(timer_id="t", fire_at=7)], 0)
    assert set(_raw(data, None)) == {
        *(b"events", b"runs", b"timers", b"timer_ids", b"meta"),
        *(b"expiry", b"search", b"search_counts"),
    }
    assert msgpack.unpackb(_raw(data, b"meta")[b"schema_version"]) == SCHEMA_VERSION
    events = _raw(data, b"events")
    assert list(events) == [
        b"w\0r1\0" + (1).to_bytes(8, "big"),
        b"w\0r1\0" + (2).to_bytes(8, "big"),
    ]
    assert msgpack.unpackb(events[b"w\0r1\0" + (2).to_bytes(8, "big")])["kind"] == "TimerStarted"
    summary = msgpack.unpackb(_raw(data, b"runs")[b"w\0r1"])
    assert summary["workflow_type"] == "checkout" and summary["head"] == 2
    assert list(_raw(data, b"timers")) == [(7).to_bytes(8, "big") + b"w\0r1\0t"]
    with LmdbStore(data) as store:
        store.append("w", "r1", [ev.WorkflowCompleted()], 2)
        ended = store.get_run("w", "r1").ended_at  # type: ignore[union-attr]
    entry = b"checkout\0" + ended.to_bytes(8, "big") + b"w\0r1"
    assert _raw(data, b"expiry") == {entry: b"", b"\xfdw\0r1": entry}
    rows = list(_raw(data, b"search"))  # every run, its status and its type: one row each
    assert sorted(row[:1] for row in rows) == [b"D", b"S", b"T"]
    newest_first = (2**64 - 1 - summary["started_at"]).to_bytes(8, "big")
    assert all(len(row) == 25 + 4 and row[17:] == newest_first + b"w\0r1" for row in rows)
    assert sorted(_raw(data, b"search_counts").values()) == [(1).to_bytes(8, "big")] * 3


def test_everything_survives_a_reopen(data: Path) -> None:
    with LmdbStore(data) as store:
        store.append("w", "r1", [started(), *signals(3)], 0)
        store.append("w", "r1", [ev.WorkflowCompleted()], 4)
        store.schedule_timer("w", "r2", "t", 99)
        before = (store.read("w", "r1"), store.runs(), store.due_timers(100))
    with LmdbStore(data) as store:
        assert (store.read("w", "r1"), store.runs(), store.due_timers(100)) == before
        assert store.runs()[0].status is WorkflowStatus.COMPLETED


def test_files_are_private(data: Path) -> None:
    with LmdbStore(data):
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        for name in ("data.mdb", "lock.mdb", "aion.lock"):
            assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name


def test_schema_mismatch_is_refused_and_nothing_is_touched(data: Path) -> None:
    with LmdbStore(data) as store:
        store.append("w", "r1", signals(2), 0)
    env = lmdb.open(str(data), max_dbs=8)
    with env.begin(write=True, db=env.open_db(b"meta")) as txn:
        txn.put(b"schema_version", packb(SCHEMA_VERSION + 1))
    env.close()
    digest = hashlib.sha256((data / "data.mdb").read_bytes()).hexdigest()
    for readonly in (False, True):
        with pytest.raises(SchemaMismatch) as info:
            LmdbStore(data, readonly=readonly)
        assert (info.value.found, info.value.supported) == (SCHEMA_VERSION + 1, SCHEMA_VERSION)
        assert str(data) in str(info.value)
    assert hashlib.sha256((data / "data.mdb").read_bytes()).hexdigest() == digest
    env = lmdb.open(str(data), max_dbs=8)
    with env.begin(write=True, db=env.open_db(b"meta")) as txn:
        txn.put(b"schema_version", packb(SCHEMA_VERSION))
    env.close()
    with LmdbStore(data) as store:
        assert seqs(store.read("w", "r1")) == [1, 2]


def test_directories_that_are_not_data_directories_are_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    env = lmdb.open(str(foreign))
    with env.begin(write=True) as txn:
        txn.put(b"k", b"v")
    env.close()
    with pytest.raises(ConfigError, match="not an aion-actors data directory"):
        LmdbStore(foreign)
    with pytest.raises(ConfigError, match="does not exist"):
        LmdbStore(tmp_path / "missing", readonly=True)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="not an aion-actors data directory"):
        LmdbStore(tmp_path / "empty", readonly=True)


@pytest.mark.parametrize("readonly", [False, True])
def test_a_store_whose_meta_database_is_gone_is_corrupt_not_foreign(
    data: Path, readonly: bool
) -> None:
    """(A copy taken while its engine wrote can look so: the marker says it is a store,
    so the advice is a backup and doctor, never "use an empty directory".)"""
    with LmdbStore(data) as store:
        store.append("w", "r1", signals(2), 0)
    env = lmdb.open(str(data), max_dbs=16)
    with env.begin(write=True) as txn:
        txn.drop(env.open_db(b"meta", txn=txn), delete=True)
    env.close()
    with pytest.raises(CorruptStore) as info:
        LmdbStore(data, readonly=readonly)
    assert str(data / "data.mdb") in str(info.value)
    assert "lacks the meta database" in str(info.value) and "doctor" in str(info.value)


def test_bad_options_are_config_errors(data: Path) -> None:
    with pytest.raises(ConfigError, match="'sync' or 'nosync'"):
        LmdbStore(data, durability="fast")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="map_size"):
        LmdbStore(data, map_size=0)


def test_a_second_open_in_this_process_is_refused(data: Path) -> None:
    with LmdbStore(data) as store:
        with pytest.raises(DataDirLocked) as info:
            LmdbStore(data)
        assert info.value.holder_pid == os.getpid()
        with pytest.raises(ConfigError, match="already open in this process"):
            LmdbStore(data, readonly=True)
        store.append("w", "r1", signals(1), 0)
    with LmdbStore(data) as store:
        assert store.head("w", "r1") == 1


def test_a_directory_owned_by_another_process_is_locked_but_readable(
    data: Path, owner: subprocess.Popen[str]
) -> None:
    assert _order(owner, "append r1 3") == "ok 3"
    with pytest.raises(DataDirLocked) as info:
        LmdbStore(data)
    assert info.value.holder_pid == owner.pid and f"process {owner.pid}" in str(info.value)
    with LmdbStore(data, readonly=True) as reader:
        assert seqs(reader.read("w", "r1")) == [1, 2, 3]
        assert _order(owner, "append r1 400") == "ok 403"  # the owner grows its map meanwhile
        assert seqs(reader.read("w", "r1")) == list(range(1, 404))
        assert reader.map_size > 64 * 1024
        with pytest.raises(ConfigError, match="read-only"):
            reader.append("w", "r1", signals(1), 403)


def test_a_live_owners_directory_stays_locked_after_its_lock_file_is_deleted(
    data: Path, owner: subprocess.Popen[str]
) -> None:
    """(An operator deleting `aion.lock` as a stale file must not let a second engine in:
    it would run the owner's completed steps again.)"""
    assert _order(owner, "append r1 1") == "ok 1"
    (data / "aion.lock").unlink()
    with pytest.raises(DataDirLocked) as info:
        LmdbStore(data)
    assert info.value.holder_pid is None  # (its record is gone; the lock is not)
    assert _order(owner, "append r1 1") == "ok 2"


def test_another_process_can_inspect_while_this_one_owns(data: Path) -> None:
    with LmdbStore(data) as store:
        store.append("w", "r1", signals(4), 0)
        reader = _child("reader", str(data), "r1")
        out, _ = reader.communicate(timeout=WAIT)
        assert reader.returncode == 0
        assert json.loads(out) == {"seqs": [1, 2, 3, 4], "refused": "ConfigError"}
        store.append("w", "r1", signals(1), 4)


def test_a_killed_owners_lock_is_taken_over(data: Path, owner: subprocess.Popen[str]) -> None:
    assert _order(owner, "append r1 2") == "ok 2"
    assert (data / "aion.lock").read_text().strip() == str(owner.pid)
    owner.send_signal(signal.SIGKILL)
    owner.wait(WAIT)
    with LmdbStore(data) as store:
        assert seqs(store.read("w", "r1")) == [1, 2]
        assert (data / "aion.lock").read_text().strip() == str(os.getpid())


def test_a_corrupt_event_names_its_seq_and_the_rest_stays_readable(data: Path) -> None:
    with LmdbStore(data) as store:
        store.append("w", "r1", signals(5), 0)
    env = lmdb.open(str(data), max_dbs=8)
    with env.begin(write=True, db=env.open_db(b"events")) as txn:
        txn.put(b"w\0r1\0" + (3).to_bytes(8, "big"), b"\x93garbage")
    env.close()
    with LmdbStore(data) as store:
        with pytest.raises(CorruptEvent) as info:
            store.read("w", "r1")
        assert (info.value.workflow_id, info.value.run_id, info.value.seq) == ("w", "r1", 3)
        assert "seq 3" in str(info.value)
        assert seqs(store.read("w", "r1", from_seq=4)) == [4, 5]
        with pytest.raises(CorruptEvent):
            store.read("w", "r1", from_seq=2)
        assert store.head("w", "r1") == 5


def test_a_lost_event_is_named_not_skipped(data: Path) -> None:
    with LmdbStore(data) as store:
        store.append("w", "r1", signals(5), 0)
        store.append("w", "r2", signals(5), 0)
    env = lmdb.open(str(data), max_dbs=8)
    with env.begin(write=True, db=env.open_db(b"events")) as txn:
        txn.delete(b"w\0r1\0" + (3).to_bytes(8, "big"))
        txn.delete(b"w\0r1\0" + (5).to_bytes(8, "big"))
    env.close()
    with LmdbStore(data) as store:
        for start, missing in ((1, 3), (4, 5), (5, 5)):
            with pytest.raises(CorruptEvent) as info:
                store.read("w", "r1", from_seq=start)
            assert (info.value.run_id, info.value.seq) == ("r1", missing)
        assert seqs(store.read("w", "r2")) == [1, 2, 3, 4, 5]


def test_the_map_grows_from_64_kib_while_readers_read(data: Path) -> None:
    with LmdbStore(data, map_size=64 * 1024, durability="nosync") as store:
        store.append("w", "reader", signals(20), 0)
        stop, failures = threading.Event(), []

        def read_loop() -> None:
            while not stop.is_set():
                try:
                    assert len(store.read("w", "reader")) == 20
                except BaseException as exc:
                    failures.append(exc)
                    return

        readers = [threading.Thread(target=read_loop) for _ in range(3)]
        for thread in readers:
            thread.start()
        try:
            with Recorder(store) as recorder:
                futures = [
                    recorder.submit(
                        "w",
                        f"r{i % 10}",
                        [ev.SignalReceived(name="s", payload="x" * 2000)],
                        i // 10,
                    )
                    for i in range(1000)
                ]
                assert all(len(f.result(WAIT)) == 1 for f in futures)
        finally:
            stop.set()
            for thread in readers:
                thread.join(WAIT)
        assert failures == []
        assert store.map_size >= 2 * 1024 * 1024
        assert all(seqs(store.read("w", f"r{i}")) == list(range(1, 101)) for i in range(10))
