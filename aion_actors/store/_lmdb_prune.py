"""Retention in an LMDB store: closed runs ordered by when they may go, and deleting them.

The `expiry` sub-database holds four kinds of keys (the leading bytes 0xfd-0xff
never start UTF-8 text, so they sort after every workflow type and never mix):

- `workflow_type \\0 freed_at(8) workflow_id \\0 run_id` → b"": a closed run that
  may be deleted once `freed_at + retention(workflow_type)` has passed. Keyed
  by type first, so each type's earliest run is one cursor move away and a type
  kept forever is skipped whole. `freed_at` is the run's `ended_at`, or its
  parent's when the parent closed later;
- `0xfe parent_wid \\0 parent_rid \\0 wid \\0 rid` → msgpack [type, ended_at]: a
  closed child whose parent is still open; the transaction that closes the
  parent turns these into entries of the first kind (freed at the parent's end);
- `0xfd workflow_id \\0 run_id` → the key of the run's entry above, to remove it;
- `0xff workflow_id \\0 run_id` → b"": a run being deleted. The first transaction
  of a deletion removes the run from every index (`REMOVERS`) and writes this
  marker, so the run is invisible from then on; the following ones delete its
  events `CHUNK` at a time and the last removes the marker (short runs share
  one transaction, `CHUNK` events in all, their markers never committed). A store opened
  with markers left by a killed process finishes those deletions first.

Every entry is written in the transaction that closes the run
(`closed_in_txn`), so the index always agrees with the run index; a store
written before this index existed gets it built on open (`ensure_built`).

Contract (every store): `expired_runs` lists closed runs whose `freed_at +
retention` is at or before `as_of`, earliest first, never a run that is open
or whose parent is open; `delete_runs` deletes such runs whole — history,
run index row, timers and every other index — and refuses (False) any other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypeVar

import lmdb

from aion_actors.core import check_id, faults, packb, unpackb
from aion_actors.store import _lmdb_search
from aion_actors.store import _projection as proj
from aion_actors.store._lmdb_records import ids_of, unpack_summary
from aion_actors.store.protocol import RetentionOf, RunSummary

EXPIRY: Final = b"expiry"
#: events deleted per write transaction, so the recorder never waits long for the lock
CHUNK: Final = 256
BUILT_KEY: Final = b"expiry_index"
_REVERSE: Final = b"\xfd"
_WAITING: Final = b"\xfe"
_DOOMED: Final = b"\xff"
_SPECIAL: Final = _REVERSE
#: the leading bytes of the reverse, waiting and doomed keys (for `_lmdb_checks`)
REVERSE, WAITING, DOOMED = _REVERSE, _WAITING, _DOOMED

if TYPE_CHECKING:
    Txn: TypeAlias = lmdb.Transaction[bytes]
else:
    Txn = lmdb.Transaction
Dbs = dict[bytes, Any]
_T = TypeVar("_T")
#: runs `apply(txn, dbs)` in one write transaction of the store (under its write lock)
Write = Callable[[Callable[[Txn, Dbs], _T]], _T]


def _entry(workflow_type: str, freed_at: int, run: bytes) -> bytes:
    at = min(max(freed_at, 0), proj.MAX_TIME)  # (a caller may stamp any int)
    return workflow_type.encode() + b"\0" + at.to_bytes(8, "big") + run


def _summary(txn: Txn, dbs: Dbs, run: bytes) -> dict[str, Any] | None:
    data = txn.get(run, db=dbs[b"runs"])
    try:
        record = unpackb(data) if data is not None else None
    except Exception:
        return None
    return record if isinstance(record, dict) else None


def _is_open(record: dict[str, Any] | None) -> bool:
    return record is not None and record.get("status") in proj.OPEN


def _parent_of(record: dict[str, Any]) -> bytes | None:
    parent = record.get("parent")
    if not isinstance(parent, dict):
        return None
    try:
        return proj.run_key(parent["workflow_id"], parent["run_id"])
    except Exception:  # a malformed link refers to nothing
        return None


def _put(txn: Txn, db: Any, run: bytes, key: bytes, value: bytes = b"") -> None:
    txn.put(key, value, db=db)
    txn.put(_REVERSE + run, key, db=db)


def _forget(txn: Txn, db: Any, run: bytes) -> None:
    key = txn.pop(_REVERSE + run, db=db)
    if key is not None:
        txn.delete(key, db=db)


# -- writing the index


def closed_in_txn(txn: Txn, dbs: Dbs, run: bytes, record: dict[str, Any]) -> None:
    """File `run`, closed in this transaction, and free the children that waited for it.

    Call it after every run index row of the transaction is written.
    """
    db = dbs.get(EXPIRY)
    if db is None:
        return
    ended = int(record["ended_at"])
    _file(txn, dbs, db, run, record, ended)
    prefix = _WAITING + run + b"\0"
    cursor = txn.cursor(db=db)
    while cursor.set_range(prefix) and cursor.key().startswith(prefix):
        child = cursor.key()[len(prefix) :]
        workflow_type, child_ended = unpackb(cursor.value())
        cursor.delete()
        _put(txn, db, child, _entry(workflow_type, max(child_ended, ended), child))


def _file(txn: Txn, dbs: Dbs, db: Any, run: bytes, record: dict[str, Any], ended: int) -> None:
    workflow_type = str(record.get("workflow_type", ""))
    freed_at = ended
    parent = _parent_of(record)
    if parent is not None:
        above = _summary(txn, dbs, parent)
        if _is_open(above):
            _put(txn, db, run, _WAITING + parent + b"\0" + run, packb([workflow_type, ended]))
            return
        if above is not None and isinstance(above.get("ended_at"), int):
            freed_at = max(freed_at, above["ended_at"])
    _put(txn, db, run, _entry(workflow_type, freed_at, run))


def is_freed(txn: Txn, dbs: Dbs, run: bytes) -> bool:
    """Whether `run` is filed as a closed run freed for retention (not a waiting child)."""
    db = dbs.get(EXPIRY)
    entry = None if db is None else txn.get(_REVERSE + run, db=db)
    return entry is not None and entry[:1] < _SPECIAL  # (a waiting child's starts 0xfe)


def opened(txn: Txn, dbs: Dbs) -> list[bytes]:
    """At a writable open: build the index of a store written before it existed, and
    return the runs whose deletion a killed process left unfinished."""
    if txn.get(BUILT_KEY, db=dbs[b"meta"]) is None:
        rebuild(txn, dbs)
    return doomed_runs(txn, dbs)


def rebuild(txn: Txn, dbs: Dbs) -> int:
    """File every closed run again (deletions under way stay marked); returns how many."""
    db = dbs[EXPIRY]
    doomed = doomed_runs(txn, dbs)
    txn.drop(db, delete=False)
    for run in doomed:
        txn.put(_DOOMED + run, b"", db=db)
    filed = 0
    for run, data in txn.cursor(db=dbs[b"runs"]):
        record = unpackb(data)
        ended = isinstance(record, dict) and isinstance(record.get("ended_at"), int)
        if ended and not _is_open(record):
            _file(txn, dbs, db, run, record, record["ended_at"])
            filed += 1
    txn.put(BUILT_KEY, packb(1), db=dbs[b"meta"])
    return filed


# -- reading it


def _types(txn: Txn, db: Any) -> list[tuple[bytes, int | None]]:
    """Each workflow type of the index, with the freed_at of its earliest run."""
    found: list[tuple[bytes, int | None]] = []
    cursor = txn.cursor(db=db)
    position = cursor.first()
    while position and cursor.key() < _SPECIAL:
        key = cursor.key()
        name, _, rest = key.partition(b"\0")
        found.append((name, int.from_bytes(rest[:8], "big")))
        position = cursor.set_range(name + b"\x01")  # past every key of this type
    return found


def next_expiry(txn: Txn, dbs: Dbs, retention_of: RetentionOf) -> int | None:
    """When the earliest run of a type with a retention may go (unix ns); None: never."""
    db = dbs.get(EXPIRY)
    if db is None:
        return None
    times = []
    for name, freed_at in _types(txn, db):
        retention = retention_of(name.decode(errors="replace"))
        if retention is not None and freed_at is not None:
            times.append(freed_at + retention)
    return min(times, default=None)


def expired(
    txn: Txn, dbs: Dbs, as_of: int, retention_of: RetentionOf, limit: int | None
) -> list[RunSummary]:
    db = dbs.get(EXPIRY)
    if db is None:
        return []
    due: list[tuple[int, bytes]] = []
    cursor = txn.cursor(db=db)
    for name, _ in _types(txn, db):
        retention = retention_of(name.decode(errors="replace"))
        if retention is None:
            continue
        prefix = name + b"\0"
        cursor.set_range(prefix)
        for taken, key in enumerate(cursor.iternext(values=False)):
            freed_at = int.from_bytes(key[len(prefix) : len(prefix) + 8], "big")
            if not key.startswith(prefix) or freed_at + retention > as_of:
                break
            if limit is not None and taken >= limit:
                break
            due.append((freed_at + retention, key[len(prefix) + 8 :]))
    due.sort()
    found = []
    for _, run in due[:limit]:
        record = _summary(txn, dbs, run)
        if record is not None and not _is_open(record):
            try:
                found.append(proj.to_summary(record, *ids_of(run)))
            except Exception:  # a damaged entry is doctor's business, not the pruner's
                continue
    return found


def doomed_runs(txn: Txn, dbs: Dbs) -> list[bytes]:
    """Runs whose deletion has started and not finished."""
    db = dbs.get(EXPIRY)
    if db is None:
        return []
    cursor = txn.cursor(db=db)
    found = []
    if cursor.set_range(_DOOMED):
        found = [key[1:] for key in cursor.iternext(values=False) if key.startswith(_DOOMED)]
    return found


# -- deleting


def _remove_search(txn: Txn, dbs: Dbs, run: bytes) -> None:
    if b"search" in dbs and (data := txn.get(run, db=dbs[b"runs"])) is not None:
        workflow_id, run_id = ids_of(run)
        summary = {**unpack_summary(data, workflow_id, run_id), "workflow_id": workflow_id}
        _lmdb_search.forget(txn, dbs, {**summary, "run_id": run_id})


def _remove_index_row(txn: Txn, dbs: Dbs, run: bytes) -> None:
    txn.delete(run, db=dbs[b"runs"])


def _remove_expiry(txn: Txn, dbs: Dbs, run: bytes) -> None:
    _forget(txn, dbs[EXPIRY], run)


def _remove_timers(txn: Txn, dbs: Dbs, run: bytes) -> None:
    prefix = run + b"\0"
    cursor = txn.cursor(db=dbs[b"timer_ids"])
    while cursor.set_range(prefix) and cursor.key().startswith(prefix):
        txn.delete(cursor.value() + cursor.key(), db=dbs[b"timers"])
        cursor.delete()


#: every index a run has a place in: a deletion removes it from each, in its first
#: transaction. A new index adds its removal here (one line).
REMOVERS: Final[tuple[Callable[[Txn, Dbs, bytes], None], ...]] = (
    _remove_search,  # before the index row it reads
    _remove_index_row,
    _remove_expiry,
    _remove_timers,
)


def _hide(txn: Txn, dbs: Dbs, run: bytes) -> bool:
    """Take a closed, unreferenced run out of every index; False (nothing done) otherwise."""
    record = _summary(txn, dbs, run)
    if record is None or _is_open(record) or record.get("ended_at") is None:
        return False
    parent = _parent_of(record)
    if parent is not None and _is_open(_summary(txn, dbs, parent)):
        return False
    for remove in REMOVERS:
        remove(txn, dbs, run)
    txn.put(_DOOMED + run, b"", db=dbs[EXPIRY])
    return True


def _delete_events(txn: Txn, dbs: Dbs, run: bytes, budget: int = CHUNK) -> tuple[int, bool]:
    """Delete up to `budget` events of a hidden run: how many, and whether none is left
    (then its marker goes too)."""
    prefix = run + b"\0"
    cursor = txn.cursor(db=dbs[b"events"])
    deleted = 0
    while deleted < budget and cursor.set_range(prefix) and cursor.key().startswith(prefix):
        cursor.delete()
        deleted += 1
    if cursor.set_range(prefix) and cursor.key().startswith(prefix):
        return deleted, False
    txn.delete(_DOOMED + run, db=dbs[EXPIRY])
    return deleted, True


def delete_runs(write: Write[Any], runs: list[tuple[str, str]]) -> list[bool]:
    """Delete closed, unreferenced runs whole: as many per write transaction as fit in
    `CHUNK` events, a run longer than that over transactions of its own. Per run, whether
    it was deleted."""
    keys = [proj.run_key(check_id(wid, "workflow_id"), rid) for wid, rid in runs]
    deleted = [False] * len(keys)
    start = 0
    while start < len(keys):

        def batch(txn: Txn, dbs: Dbs, first: int = start) -> tuple[int, list[int], bytes | None]:
            """Runs from `first` on, while the budget lasts: where to go on, which were
            hidden, and the one left unfinished."""
            budget, index, hidden = CHUNK, first, []
            while index < len(keys) and budget > 0:
                run = keys[index]
                index += 1
                if EXPIRY in dbs and _hide(txn, dbs, run):
                    hidden.append(index - 1)
                    count, done = _delete_events(txn, dbs, run, budget)
                    budget -= max(count, 1)
                    if not done:
                        return index, hidden, run
            return index, hidden, None

        start, hidden, unfinished = write(batch)
        for index in hidden:
            deleted[index] = True
        if unfinished is not None:
            finish(write, unfinished)
    return deleted


def finish(write: Write[Any], run: bytes, done: bool = False) -> None:
    """Delete the rest of the events of hidden `run`, a transaction per `CHUNK`."""
    while not done:
        if faults.ARMED:
            faults.hit("prune.middle")  # the run is invisible, some of its events remain
        done = write(lambda txn, dbs: _delete_events(txn, dbs, run)[1])


def finish_all(write: Write[Any], doomed: list[bytes]) -> None:
    """Finish the deletions a killed process left (see the module docstring)."""
    for run in doomed:
        finish(write, run)
