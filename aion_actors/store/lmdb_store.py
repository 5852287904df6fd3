"""`LmdbStore`: the default, durable `EventStore`, one LMDB environment per data directory.

Sub-databases (the on-disk names other tools may rely on):

- `events`: `workflow_id \\0 run_id \\0 seq` (seq 8-byte big-endian) → event,
  so one run's history is one ordered key range;
- `runs`: `workflow_id \\0 run_id` → msgpack map of the run summary;
- `timers`: `fire_at` (8-byte big-endian) `workflow_id \\0 run_id \\0 timer_id` → b"",
  so due timers are a prefix of the key order;
- `timer_ids`: `workflow_id \\0 run_id \\0 timer_id` → `fire_at`, to replace or cancel;
- `meta`: `b"schema_version"` → msgpack int;
- `expiry`: closed runs by workflow type and the time their retention starts (`_lmdb_prune`).
- `search`, `search_counts`: the search index (`_lmdb_search` describes them).

Damage (see `_lmdb_file`): LMDB's damage errors are `CorruptStore`; a run index entry
that does not decode is left out of `runs()`/`open_runs()`, logged once, and listed by
`damaged_runs()`; a damaged search index (`_lmdb_search.Damaged`) is logged once and
listings read the whole run index instead; `rebuild_index()` rewrites the indexes from
the events.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

import lmdb

from aion_actors.core import (
    AionError,
    ConfigError,
    EngineClosed,
    Event,
    StoreFull,
    WorkflowStatus,
    check_id,
)
from aion_actors.core.closing import CloseOnExit
from aion_actors.store import (
    _lmdb_backup,
    _lmdb_copying,
    _lmdb_env,
    _lmdb_examine,
    _lmdb_index,
    _lmdb_prune,
    _lmdb_search,
)
from aion_actors.store import _projection as proj
from aion_actors.store._lmdb_apply import apply_all
from aion_actors.store._lmdb_backup import Backup
from aion_actors.store._lmdb_gate import Gate
from aion_actors.store._lmdb_records import (
    DamagedRun,
    DamageLog,
    TimerIndex,
    damaged_entries,
    due_timers,
    entries,
    read_history,
    summaries,
    unpack_summary,
)
from aion_actors.store._search import RunPage, RunQuery
from aion_actors.store._write_faults import PROBE_KEY, free_bytes, unwritable
from aion_actors.store.protocol import (
    AppendRequest,
    AppendsInBatches,
    DueTimer,
    RetentionOf,
    RunSummary,
)

DEFAULT_MAP_SIZE: Final = 1 << 30
_T = TypeVar("_T")


class LmdbStore(AppendsInBatches, _lmdb_copying.Copying, CloseOnExit):
    """An `EventStore` in an LMDB data directory, owned by one process at a time.

    `durability="sync"` (the default) fsyncs every commit; `"nosync"` leaves
    commits in the OS page cache: it survives a process crash but **not a power
    loss**. The map (`map_size`, reserved address space, not disk) doubles
    online whenever it fills. `readonly=True` opens without taking the owner
    lock, for inspection while an engine runs in another process; on a
    read-only file system too, and refused where this user may not write the
    directory (see `_lmdb_access`).

    `create`: by default (None) a store is created in a missing or empty
    directory, and an existing one is opened; a directory where a store was
    created but whose `data.mdb` is now missing or empty is refused with
    `CorruptStore` — `create=True` starts an empty store there instead (its
    runs are gone), `create=False` never creates one. A store `copy_store` is filling
    is refused (`IncompleteCopy`) unless `copying=True`, which only that copy passes.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durability: Literal["sync", "nosync"] = "sync",
        map_size: int = DEFAULT_MAP_SIZE,
        readonly: bool = False,
        create: bool | None = None,
        copying: bool = False,
    ) -> None:
        if durability not in ("sync", "nosync"):
            raise ConfigError(
                f"durability must be 'sync' or 'nosync' (unsafe against power loss), "
                f"not {durability!r}"
            )
        if not isinstance(map_size, int) or map_size <= 0:
            raise ConfigError(f"map_size must be a positive int of bytes, not {map_size!r}")
        self.path = Path(path)
        self.durability = durability
        self.readonly = readonly
        env, dbs, self._release = _lmdb_env.claim(
            self.path,
            readonly=readonly,
            create=create,
            sync=durability == "sync",
            map_size=map_size,
            copying=copying,
        )
        self._env: lmdb.Environment | None = env
        self._dbs = dbs
        self._events = dbs[b"events"]
        self._runs = dbs[b"runs"]
        self._timer_index = TimerIndex(dbs[b"timers"], dbs[b"timer_ids"])
        self._timers = dbs[b"timers"]
        self._readers = _lmdb_env.StaleReaders(self.path)
        if not readonly:
            self._readers.check(env)
        self._damaged = DamageLog(self.path)
        self._gate = Gate()
        self._clock = proj.Clock()
        if not readonly:  # build indexes older directories lack; finish killed deletions
            self._write(lambda txn: _lmdb_search.ensure(txn, self._dbs))
            _lmdb_prune.finish_all(self._writing, self._writing(_lmdb_prune.opened))

    @property
    def map_size(self) -> int:
        """The current size of the map in bytes (it grows when full)."""
        with self._gate:
            return int(self._live().info()["map_size"])

    @property
    def stale_readers_cleared(self) -> int:  # (see `StaleReaders`)
        return self._readers.cleared

    # Writing

    def append_batch(self, requests: Sequence[AppendRequest]) -> list[list[Event] | AionError]:
        with self._gate.writing():
            prepared = [proj.prepare(request, self._clock()) for request in requests]
            return self._write(lambda txn: apply_all(txn, self._dbs, self._timer_index, prepared))

    def schedule_timer(self, workflow_id: str, run_id: str, timer_id: str, fire_at: int) -> None:
        key = proj.timer_key(proj.run_key(workflow_id, run_id), timer_id)
        proj.check_time(fire_at, "fire_at")
        self._writing(lambda txn, _: self._timer_index.schedule(txn, key, fire_at))

    def cancel_timer(self, workflow_id: str, run_id: str, timer_id: str) -> None:
        key = proj.timer_key(proj.run_key(workflow_id, run_id), timer_id)
        self._writing(lambda txn, _: self._timer_index.cancel(txn, key))

    def _writing(self, apply: Callable[[lmdb.Transaction[bytes], dict[bytes, Any]], _T]) -> _T:
        """`apply(txn, sub-databases)` in one write transaction, under the write lock."""
        with self._gate.writing():
            return self._write(lambda txn: apply(txn, self._dbs))

    def _write(self, apply: Callable[[lmdb.Transaction[bytes]], _T]) -> _T:
        """Run `apply` in one write transaction, growing the map and retrying when full."""
        if self.readonly:
            raise ConfigError(
                f"data directory {self.path} was opened read-only for inspection; "
                "open it without readonly=True to write"
            )
        while True:
            with self._gate:
                txn = self._live().begin(write=True)
                try:
                    result = apply(txn)
                    txn.commit()
                except BaseException as exc:
                    failure = exc
                else:
                    self._readers.committed(self._live())
                    return result
            # py-lmdb 3.0 aborts a write transaction only once no operation of
            # this environment is in flight, which busy readers can put off
            # forever: abort (and grow) while the gate keeps readers out.
            with self._gate.exclusive():
                txn.abort()  # a no-op after a failed commit: LMDB aborted it already
                if isinstance(failure, _lmdb_env.DAMAGE):
                    raise _lmdb_env.corrupt(self.path, failure) from None
                if not isinstance(failure, lmdb.MapFullError):
                    raise unwritable(self.path, failure)
                env = self._live()
                self._readers.check(env)  # a dead reader may be what filled it
                size = int(env.info()["map_size"])
                try:
                    env.set_mapsize(size * 2)
                except lmdb.Error as exc:  # py-lmdb drops the environment: open it again
                    self._reopen(size)
                    what = f"its map is full at {size:,} bytes and cannot grow ({exc})"
                    raise StoreFull(str(self.path), free_bytes(self.path), what) from exc

    def check_writable(self) -> None:
        """Write a little, durably; `StoreUnavailable` (or `StoreFull`) if that fails."""
        now = time.time_ns().to_bytes(8, "big")
        with self._gate.writing():
            self._write(lambda txn: txn.put(PROBE_KEY, now, db=self._dbs[b"meta"]))

    def _reopen(self, map_size: int) -> None:
        """Open the environment again, keeping the directory's lock."""
        if self._env is not None:
            with contextlib.suppress(lmdb.Error):
                self._env.close()
        sync = self.durability == "sync"
        env, self._dbs = _lmdb_env.open_env(self.path, readonly=False, sync=sync, map_size=map_size)
        self._env, self._events, self._runs = env, self._dbs[b"events"], self._dbs[b"runs"]
        self._timer_index = TimerIndex(self._dbs[b"timers"], self._dbs[b"timer_ids"])
        self._timers = self._dbs[b"timers"]

    # Reading

    def read(
        self, workflow_id: str, run_id: str, from_seq: int = 1, until: int | None = None
    ) -> list[Event]:
        with self._reading() as txn:
            return read_history(txn, self._dbs, workflow_id, run_id, from_seq, until)

    def read_many(self, runs: Sequence[tuple[str, str]]) -> list[list[Event] | AionError]:
        """Each run's whole history, or the error reading it raised, in one read
        transaction (see `store.bulk`)."""
        found: list[list[Event] | AionError] = []
        with self._reading() as txn:
            for workflow_id, run_id in runs:
                try:
                    found.append(read_history(txn, self._dbs, workflow_id, run_id, 1))
                except AionError as exc:
                    found.append(exc)
        return found

    def head(self, workflow_id: str, run_id: str) -> int:
        summary = self.get_run(workflow_id, run_id)
        return summary.head if summary else 0

    def get_run(self, workflow_id: str, run_id: str) -> RunSummary | None:
        key = proj.run_key(workflow_id, run_id)
        with self._reading() as txn:
            data = txn.get(key, db=self._runs)
        if data is None:
            return None
        return proj.to_summary(unpack_summary(data, workflow_id, run_id), workflow_id, run_id)

    def runs(
        self, status: WorkflowStatus | None = None, workflow_type: str | None = None
    ) -> list[RunSummary]:
        if status is not None:  # through the search index's rows for the status
            try:
                with self._reading() as txn:
                    listed = _lmdb_search.with_status(txn, self._dbs, WorkflowStatus(status).value)
            except _lmdb_search.Damaged as exc:  # read the whole run index instead
                self._damaged.search_damaged(exc.problem)
                listed = None
            if listed is not None:
                self._damaged.note(listed[1])
                return proj.matching(listed[0], status, workflow_type)
        return proj.matching(self._scan_runs(b""), status, workflow_type)

    def open_runs(self) -> list[RunSummary]:
        return [s for s in self._scan_runs(b"") if not s.status.is_terminal]

    def latest_run(self, workflow_id: str) -> RunSummary | None:
        prefix = check_id(workflow_id, "workflow_id").encode() + b"\0"
        return max(self._scan_runs(prefix), key=lambda s: (s.started_at, s.run_id), default=None)

    def damaged_runs(self) -> list[DamagedRun]:
        """Run index entries that do not decode (`rebuild_index()` rewrites them)."""
        with self._reading() as txn:
            return damaged_entries(txn, self._runs)

    def _scan_runs(self, prefix: bytes) -> list[RunSummary]:
        found, damaged = self._scan(prefix)
        self._damaged.note(damaged)
        return found

    def _scan(self, prefix: bytes) -> tuple[list[RunSummary], list[DamagedRun]]:
        with self._reading() as txn:
            stored = entries(txn, self._runs, prefix)
        return summaries(stored)

    def due_timers(self, as_of: int, limit: int | None = None) -> list[DueTimer]:
        with self._reading() as txn:
            return due_timers(txn, self._timers, as_of, limit)

    def next_timer(self) -> DueTimer | None:
        with self._reading() as txn:
            return next(iter(due_timers(txn, self._timers, proj.MAX_TIME, 1)), None)

    def search(self, query: RunQuery) -> RunPage:
        """See `EventStore.search`; served by the search index (`_lmdb_search`), or by the
        whole run index where the search index is damaged (logged once)."""
        index_damage: _lmdb_search.Damaged | None = None
        with self._reading() as txn:
            try:
                found, damaged = _lmdb_search.search(txn, self._dbs, query)
            except _lmdb_search.Damaged as exc:  # never a page short of runs
                index_damage = exc
                found, damaged = _lmdb_search.scan(txn, self._dbs, query)
        if index_damage is not None:
            self._damaged.search_damaged(index_damage.problem)
        self._damaged.note(damaged)
        return found

    # Retention (see `_lmdb_prune`)

    def expired_runs(
        self, as_of: int, retention_of: RetentionOf, limit: int | None = None
    ) -> list[RunSummary]:
        with self._reading() as txn:
            return _lmdb_prune.expired(txn, self._dbs, as_of, retention_of, limit)

    def next_expiry(self, retention_of: RetentionOf) -> int | None:
        with self._reading() as txn:
            return _lmdb_prune.next_expiry(txn, self._dbs, retention_of)

    def delete_runs(self, runs: Sequence[tuple[str, str]]) -> list[bool]:
        return _lmdb_prune.delete_runs(self._writing, list(runs))

    def delete_run(self, workflow_id: str, run_id: str) -> bool:
        return self.delete_runs([(workflow_id, run_id)])[0]

    @contextlib.contextmanager
    def _reading(self) -> Iterator[lmdb.Transaction[bytes]]:
        """A short read transaction; adopts a map another process grew meanwhile."""
        while True:
            with self._gate:
                env = self._live()
                try:
                    txn = env.begin()
                except lmdb.MapResizedError:
                    pass
                else:
                    with txn, _lmdb_env.damage(self.path):
                        yield txn
                    return
            with self._gate.exclusive():
                self._live().set_mapsize(0)

    # Repair

    def examine(self) -> _lmdb_index.Examination:
        """What disagrees between the events, the run index and the timers (one read)."""
        with self._reading() as txn:
            return _lmdb_examine.examine(txn, self._dbs)

    def rebuild_index(self) -> _lmdb_index.Rebuilt:
        """Rewrite the run index and the timers from the events, in one write transaction."""
        with self._gate.writing():
            return self._write(lambda txn: _lmdb_index.rebuild(txn, self._dbs, self._timer_index))

    def backup(self, dest: str | os.PathLike[str], *, compact: bool = True) -> Backup:
        """A consistent copy, taken while the store is in use, in new directory `dest`."""
        with self._reading() as txn:
            return _lmdb_backup.copy(self._live(), txn, self.path, Path(dest), compact=compact)

    # Lifecycle

    def _live(self) -> lmdb.Environment:
        if self._env is None:
            raise EngineClosed()
        return self._env

    def close(self) -> None:
        """Close the environment and release the directory; idempotent. Amid this thread's
        own store call (a signal handler), once that call ends (see `_lmdb_gate`)."""
        if self._gate.when_out(self.close):
            return
        with self._gate.writing(), self._gate.exclusive():
            if self._env is None:
                return
            self._env.close()
            self._env = None
            self._release.close()

    def __repr__(self) -> str:
        state = "closed" if self._env is None else self.durability
        return f"LmdbStore({str(self.path)!r}, {state}{', readonly' if self.readonly else ''})"
