"""Data directories with runs in them, and the damage a disk, a tool or a person does to them.

The damage is real: bytes cut off or overwritten in `data.mdb`, entries
rewritten through LMDB itself (`lmdb` opened directly, as any tool could),
never a mock standing in for the store.
"""

from __future__ import annotations

import hashlib
import os
import struct
import sys
from pathlib import Path

import lmdb
import msgpack

from aion_actors.core import events as ev
from aion_actors.core import packb
from aion_actors.store import LmdbStore
from aion_actors.store.protocol import AppendRequest

RUNS = 40
#: far in the future, so no timer is due during a test
FIRE_AT = 4_000_000_000 * 10**9


def run_key(i: int) -> bytes:
    return f"order-{i:02}\0run{i}".encode()


def write_runs(data: Path, count: int = RUNS) -> None:
    """Run i is `order-<i>`/`run<i>` of type `order`: even ones completed, odd ones wait on
    a timer `t<i>`."""
    with LmdbStore(data, durability="nosync") as store:
        requests = []
        for i in range(count):
            events: list[ev.Event] = [
                ev.WorkflowStarted(workflow_type="order", input=i, run_id=f"run{i}", version="v1"),
                ev.TimerStarted(timer_id=f"t{i}", fire_at=FIRE_AT + i),
            ]
            if i % 2 == 0:
                events.append(ev.WorkflowCompleted(result=i))
            requests.append(AppendRequest(f"order-{i:02}", f"run{i}", tuple(events), 0))
        assert all(isinstance(r, list) for r in store.append_batch(requests))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def raw(data: Path) -> lmdb.Environment:
    """The environment opened directly, as a tool would (no store, no engine running)."""
    return lmdb.open(str(data), max_dbs=8, subdir=True)


def put(data: Path, db: bytes, key: bytes, value: bytes | None) -> None:
    """Write (or, with None, delete) one entry of a sub-database."""
    env = raw(data)
    try:
        with env.begin(write=True, db=env.open_db(db)) as txn:
            if value is None:
                assert txn.delete(key)
            else:
                txn.put(key, value)
    finally:
        env.close()


def garbage_index_entry(data: Path, i: int) -> None:
    put(data, b"runs", run_key(i), b"\xc1 not msgpack")


def wrong_index_entry(data: Path, i: int, **fields: object) -> None:
    """Index entry i with some fields replaced (it still decodes as a map)."""
    env = raw(data)
    try:
        with env.begin(write=True, db=env.open_db(b"runs")) as txn:
            record = msgpack.unpackb(txn.get(run_key(i)))
            txn.put(run_key(i), packb({**record, **fields}))
    finally:
        env.close()


def _metas(data: Path) -> tuple[int, int, int]:
    """(page size, offset of the current MDB_meta, its last page) of a 64-bit LMDB 0.9 file."""
    with open(data / "data.mdb", "rb") as f:
        head = f.read(8192)
    order = "<" if sys.byteorder == "little" else ">"
    page_size = struct.unpack_from(order + "I", head, 16 + 24)[0]
    best = max(
        (struct.unpack_from(order + "QQ", head, page * page_size + 16 + 120), page)
        for page in (0, 1)
    )
    (last_page, _txnid), page = best
    return page_size, page * page_size + 16, last_page


def truncate_to_half(data: Path) -> None:
    file = data / "data.mdb"
    os.truncate(file, file.stat().st_size // 2)


def zero_data_pages(data: Path) -> None:
    """Every page after the two meta pages overwritten with zeros: B-tree pages of no type."""
    page_size, _, last_page = _metas(data)
    with open(data / "data.mdb", "r+b") as f:
        f.seek(2 * page_size)
        f.write(b"\0" * ((last_page - 1) * page_size))


def root_past_the_end(data: Path) -> None:
    """The current meta's main database root set to a page past the last one used."""
    _, meta, last_page = _metas(data)
    order = "<" if sys.byteorder == "little" else ">"
    with open(data / "data.mdb", "r+b") as f:
        f.seek(meta + 24 + 48 + 40)  # the main MDB_db record's md_root
        f.write(struct.pack(order + "Q", last_page + 5))


def search_row(data: Path, kind: bytes, i: int) -> bytes:
    """Run i's row of the search index under a prefix of `kind` (D: every run, S: a status)."""
    env = raw(data)
    try:
        with env.begin(db=env.open_db(b"search")) as txn:
            keys = txn.cursor().iternext(values=False)
            return next(k for k in keys if k.startswith(kind) and k.endswith(run_key(i)))
    finally:
        env.close()


def bump_search_row(data: Path, kind: bytes, i: int, by: int = 1) -> None:
    """Run i's `kind` row of the search index with its first byte raised `by` (lowered,
    negative), in the file's bytes (as a disk would): in the middle of its prefix's rows,
    a key out of order (LMDB never checks the order when it reads); raised at the last
    of them, a row lost."""
    row = search_row(data, kind, i)
    file = data / "data.mdb"
    content = file.read_bytes()
    assert row in content
    file.write_bytes(content.replace(row, bytes([row[0] + by]) + row[1:]))
