"""The mark of a data directory that `copy_store` is filling: `meta` key `copy_started` →
msgpack int, when the copy began (unix ns).

Written in a transaction of its own before the copy's first run, deleted in the copy's
last transaction, after every run was written and checked: while it is there every open
but the copy's own (`LmdbStore(copying=True)`) raises `IncompleteCopy`, so no engine runs
on part of the runs.

A copy reads a store a page at a time (`Copying`): runs in key order after a cursor
(`runs`: `workflow_id \\0 run_id`, byte order), timers likewise (`timer_ids`), and which
of some runs are freed for retention (their `expiry` entry is not a waiting child's).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeAlias

import lmdb

from aion_actors.core import IncompleteCopy, packb, unpackb
from aion_actors.store import _lmdb_prune
from aion_actors.store import _projection as proj
from aion_actors.store._lmdb_records import DamageLog, due_timer, summaries
from aion_actors.store.protocol import DueTimer, RunSummary

KEY: Final = b"copy_started"
if TYPE_CHECKING:
    _Txn: TypeAlias = lmdb.Transaction[bytes]
else:
    _Txn = lmdb.Transaction
_Run = tuple[str, str]


class _Store(Protocol):
    _dbs: dict[bytes, Any]
    _damaged: DamageLog

    def _reading(self) -> AbstractContextManager[_Txn]: ...

    def _writing(self, apply: Callable[[_Txn, dict[bytes, Any]], None]) -> None: ...


class Copying:
    """What `copy_store` asks of a data directory besides `EventStore` (`Copyable`)."""

    def copy_started(self: _Store) -> int | None:
        """When the unfinished `copy_store` filling this store began (unix ns), or None."""
        with self._reading() as txn:
            return started(txn, self._dbs[b"meta"])

    def mark_copy(self: _Store, since: int | None) -> None:
        """Mark the store as `copy_store` filling it since `since` (None: it finished)."""
        self._writing(lambda txn, dbs: mark(txn, dbs[b"meta"], since))

    def runs_after(self: _Store, after: _Run | None, limit: int) -> list[RunSummary]:
        """At most `limit` runs in (workflow_id, run_id) order, from after `after` (an
        entry that does not decode is left out and logged, as `runs()` does)."""
        start = b"" if after is None else proj.run_key(*after)
        with self._reading() as txn:
            stored = _after(txn, self._dbs[b"runs"], start, limit)
        found, damaged = summaries(stored)
        self._damaged.note(damaged)
        return found

    def timers_after(
        self: _Store, after: tuple[str, str, str] | None, limit: int
    ) -> list[DueTimer]:
        """At most `limit` timers in (workflow_id, run_id, timer_id) order, from after `after`."""
        start = b"" if after is None else proj.timer_key(proj.run_key(*after[:2]), after[2])
        with self._reading() as txn:
            stored = _after(txn, self._dbs[b"timer_ids"], start, limit)
        found = (due_timer(at + key, int.from_bytes(at, "big")) for key, at in stored)
        return [timer for timer in found if timer is not None]

    def freed_among(self: _Store, runs: Sequence[_Run]) -> list[bool]:
        """Per run, whether it is closed and freed for retention (its parent is not open)."""
        keys = [proj.run_key(*run) for run in runs]
        with self._reading() as txn:
            return [_lmdb_prune.is_freed(txn, self._dbs, key) for key in keys]


def _after(txn: _Txn, db: Any, start: bytes, limit: int) -> list[tuple[bytes, bytes]]:
    """At most `limit` (key, value) pairs of `db` with keys after `start`, in key order."""
    found: list[tuple[bytes, bytes]] = []
    cursor = txn.cursor(db=db)
    if limit < 1 or not cursor.set_range(start):
        return found
    for key, value in cursor:
        if key == start:
            continue
        found.append((key, value))
        if len(found) >= limit:
            break
    return found


def started(txn: lmdb.Transaction[bytes], meta: Any) -> int | None:
    """When the copy filling this store began, or None (no copy, or it finished)."""
    raw = txn.get(KEY, db=meta)
    return None if raw is None else int(unpackb(raw))


def check(env: lmdb.Environment, meta: Any, directory: Path, *, copying: bool) -> None:
    """Refuse a store a copy is filling, unless the opener is that copy (`copying`)."""
    if copying:
        return
    with env.begin(db=meta) as txn:
        since = started(txn, meta)
    if since is not None:
        raise IncompleteCopy(str(directory), since, f"delete {directory}")


def mark(txn: lmdb.Transaction[bytes], meta: Any, since: int | None) -> None:
    """Mark the store as filled by a copy begun at `since`; None removes the mark."""
    if since is None:
        txn.delete(KEY, db=meta)
    else:
        txn.put(KEY, packb(since), db=meta)
