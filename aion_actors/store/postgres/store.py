"""`PostgresStore`: an `EventStore` in a PostgreSQL database, shared by whoever reaches it.

Tables: see `_schema`. Writes go through one in-process lock, held only while a
write runs on a connection in hand (never while it waits out an outage: every other
write, and a node's `forget`, would wait with it); group commits are one at a time
(the `Recorder` is the only writer in an engine anyway). Reads take a pooled
connection each.

A lost connection is retried with backoff for `retry_for` seconds, then is
`StoreUnavailable` (the engine's runs wait and go on by themselves); a closing
engine's reads give up at once (`closing`). A commit whose answer was lost is
settled by asking the server whether its transaction id committed (`txid_status`,
see `_doubt`): an acknowledged append is never lost nor applied twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from aion_actors.core import (
    AionError,
    ConfigError,
    EngineClosed,
    Event,
    StoreUnavailable,
    WorkflowStatus,
    check_id,
)
from aion_actors.core.closing import CloseOnExit
from aion_actors.store import _projection as proj
from aion_actors.store._search import RunPage, RunQuery
from aion_actors.store.postgres import (
    _appends,
    _arrays,
    _connect,
    _copying,
    _doubt,
    _histories,
    _index,
    _prune,
    _schema,
    _search,
    _timers,
)
from aion_actors.store.postgres._owner import Owner
from aion_actors.store.postgres._paged import Copying
from aion_actors.store.protocol import (
    AppendRequest,
    AppendsInBatches,
    DueTimer,
    RetentionOf,
    RunSummary,
)

_T = TypeVar("_T")


class PostgresStore(AppendsInBatches, Copying, CloseOnExit):
    """An `EventStore` in the Postgres schema `schema` (default `aion`) of the database at
    `url`, created (with `partitions` partitions) on first open.

    One engine per store: opening takes a session advisory lock, and a second
    writable open gets `DataDirLocked` naming the holder's host and pid (engines
    sharing a store are nodes: see `NodeStore`). `readonly=True` takes no lock
    and creates nothing, for inspection; `create=False` opens only a store that
    exists. A writable open first finishes the deletions a killed process left
    (`_prune`). A store `copy_store` is filling is refused (`IncompleteCopy`) unless
    `copying=True`, which only that copy passes (`_copying`).
    """

    #: nodes hold the store's lock shared (see `NodeStore`)
    _shared_lock = False
    application_name = "aion-actors"  #: its connections' (a node's names it: `pg_stat_activity`)

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        partitions: int = _schema.DEFAULT_PARTITIONS,
        readonly: bool = False,
        create: bool = True,
        retry_for: float = 30.0,
        pool_size: int = 8,
        copying: bool = False,
    ) -> None:
        if isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1:
            raise ConfigError(f"partitions must be an int >= 1, not {partitions!r}")
        psycopg, pool_module = _connect.psycopg_modules()
        self.target = _connect.parse(url, schema)
        self.readonly = readonly
        self._psycopg = psycopg
        self._errors = (psycopg.OperationalError, psycopg.InterfaceError, _doubt.Unsettled)
        self._backoff = _connect.Backoff(self.target, retry_for, self._errors, pool_module)
        self._backoff.on_lost = self._lost
        self._owner = Owner(psycopg, self.target, shared=self._shared_lock)
        #: held by one write at a time, while it runs on a connection (see `_writer`)
        self._write_lock = threading.Lock()
        #: held by one group commit at a time, across its retries (see `_doubt`)
        self._append_lock = threading.Lock()
        self._clock = proj.Clock()
        self._regain_lock = False
        self._in_doubt: _doubt.Doubt | None = None  #: settled before anything else is written
        #: the timers of runs this store created, known for sure (see `TimerChanges`)
        self._armed: dict[tuple[str, str], set[str]] = {}
        self._closed = False
        try:
            with psycopg.connect(self.target.conninfo, autocommit=True, connect_timeout=10) as conn:
                creating = create and not readonly
                self.partitions = _schema.prepare(conn, self.target, creating, partitions, copying)
            if not readonly:
                self._owner.take()
        except (psycopg.OperationalError, psycopg.ProgrammingError) as exc:
            self._owner.release()
            raise _connect.not_opened(self.target, exc) from None
        except BaseException:
            self._owner.release()
            raise
        self._pool = pool_module.ConnectionPool(
            self.target.conninfo,
            min_size=1,
            max_size=pool_size,
            open=False,
            name=f"aion-{self.target.schema}",
            timeout=max(1.0, retry_for),  # (a connection's wait fits the retry window)
            reconnect_timeout=_connect.RECONNECT_FOR,
            reconnect_failed=_connect.reconnect_again,
            configure=_arrays.register,
            kwargs={"application_name": self.application_name},
        )
        self._pool.open(wait=True, timeout=10.0)
        if not readonly:
            s = self.target.schema
            for run in self._read(lambda conn, _: _prune.doomed_runs(conn, s)):
                _prune.finish(self._writing, s, run)

    @property
    def path(self) -> str:
        """How messages name this store (no password)."""
        return self.target.where

    # Plumbing

    def _lost(self) -> None:
        """A connection broke: drop the broken ones; the owner lock may be gone too."""
        self._pool.check()
        self._regain_lock = not self.readonly

    def _with_conn(
        self, work: Callable[[Any], _T], *, reading: bool = False, within: float | None = None
    ) -> _T:
        """`work(conn)`, retried after lost connections; a caller's timeout (`within`)
        bounds the retries and the wait for a connection (a read's: in slices)."""
        deadline = None if within is None else time.monotonic() + within

        def attempt() -> _T:
            with self._pool.connection(timeout=_connect.pool_wait(deadline, reading)) as conn:
                return work(conn)

        return self._backoff.run(attempt, reading=reading, within=within)

    def _check_open(self) -> None:
        if self._closed:
            raise EngineClosed()

    def _check_writable(self) -> None:
        self._check_open()
        if self.readonly:
            raise ConfigError(
                f"store {self.path} was opened read-only for inspection; "
                "open it without readonly=True to write"
            )

    # Writing

    @contextmanager
    def _writer(self) -> Iterator[None]:
        """The write lock, for one try on a connection in hand (never while waiting for
        one, nor across a retry's pauses); a store closed meanwhile writes nothing."""
        with self._write_lock:
            self._check_open()
            yield

    def append_batch(self, requests: Sequence[AppendRequest]) -> list[list[Event] | AionError]:
        with self._append_lock:
            self._check_writable()
            batch = _appends.Batch(requests, self._clock)
            try:
                return self._backoff.run(lambda: self._commit(batch))
            except StoreUnavailable as exc:
                if self._in_doubt is not None and self._in_doubt.batch is batch:
                    raise _doubt.MaybeRecorded(exc) from exc.__cause__
                raise

    def _commit(self, batch: _appends.Batch) -> _appends.Results:
        """One attempt: settle a commit in doubt first, else write the batch."""
        if self._regain_lock:
            self._owner.take()
            self._regain_lock = False
        with self._pool.connection() as conn, self._writer():
            if self._in_doubt is not None:
                settled = _doubt.settle(conn, self._in_doubt, batch)
                self._in_doubt = None
                if settled is not None:
                    return settled
            timers = _timers.TimerChanges(self._armed)
            attempt = _appends.Attempt()
            try:
                _appends.commit(
                    conn,
                    self.target.schema,
                    self.partitions,
                    batch,
                    timers,
                    attempt,
                    self._errors,
                    self._fenced,
                    self._consumed,
                )
            except self._errors:
                if attempt.xid is not None and attempt.results:
                    # COMMIT may have been applied
                    self._in_doubt = _doubt.Doubt(attempt.xid, batch, attempt.results, timers)
                raise
            timers.committed()
        return attempt.results

    def _fenced(
        self, conn: Any, prepared: list[proj.Prepared | AionError]
    ) -> list[proj.Prepared | AionError]:
        """In the write's transaction: what it may write (a node's: see `NodeStore`)."""
        return prepared

    _consumed: _appends.Consumed | None = None  # a node's: the other nodes' calls applied

    def _fence_one(self, conn: Any, workflow_id: str) -> None:
        """Inside a small write's transaction: raise if `workflow_id` may not be written."""

    def _writing(
        self,
        work: Callable[[Any], _T],
        workflow_id: str | None = None,
        *,
        within: float | None = None,
    ) -> _T:
        """A small write outside the group commit, in a transaction of its own (retried
        after a lost connection: it must be idempotent); one for a run (`workflow_id`)
        passes the fence first."""
        self._check_writable()

        def attempt(conn: Any) -> _T:
            with self._writer(), conn.transaction():
                if workflow_id is not None:
                    self._fence_one(conn, workflow_id)
                return work(conn)

        return self._with_conn(attempt, within=within)

    def _write(self, work: Callable[[Any], None], workflow_id: str | None = None) -> None:
        self._writing(work, workflow_id)

    def check_writable(self) -> None:
        now = time.time_ns() - _schema.TIME_SHIFT
        self._write(lambda conn: _copying.set_meta(conn, self.target.schema, "probe", now))

    def schedule_timer(self, workflow_id: str, run_id: str, timer_id: str, fire_at: int) -> None:
        proj.timer_key(proj.run_key(workflow_id, run_id), timer_id)
        proj.check_time(fire_at, "fire_at")
        partition = _schema.partition_of(workflow_id, self.partitions)
        row = (workflow_id, run_id, timer_id, partition, fire_at - _schema.TIME_SHIFT)
        s = self.target.schema

        def work(conn: Any) -> None:
            _timers.upsert(conn, s, [row])
            _timers.notify(conn, s, fire_at)

        self._write(work, workflow_id)
        self._armed.get((workflow_id, run_id), set()).add(timer_id)

    def cancel_timer(self, workflow_id: str, run_id: str, timer_id: str) -> None:
        proj.timer_key(proj.run_key(workflow_id, run_id), timer_id)
        s = self.target.schema
        self._write(
            lambda conn: _timers.cancel(conn, s, workflow_id, run_id, timer_id), workflow_id
        )
        self._armed.get((workflow_id, run_id), set()).discard(timer_id)

    # Reading

    def _read(self, work: Callable[[Any, str], _T]) -> _T:
        self._check_open()
        s = self.target.schema

        def run(conn: Any) -> _T:
            try:
                return work(conn, s)
            finally:
                conn.rollback()

        return self._with_conn(run, reading=True)

    def read(
        self, workflow_id: str, run_id: str, from_seq: int = 1, until: int | None = None
    ) -> list[Event]:
        proj.run_key(workflow_id, run_id)
        run = (workflow_id, run_id)
        return self._read(lambda conn, s: _histories.read(conn, s, run, from_seq, until))

    def read_many(self, runs: Sequence[tuple[str, str]]) -> list[list[Event] | AionError]:
        """Each run's whole history, or why it could not be read, in one query (`bulk`)."""
        for workflow_id, run_id in runs:
            proj.run_key(workflow_id, run_id)
        return self._read(lambda conn, s: _histories.read_many(conn, s, runs))

    def head(self, workflow_id: str, run_id: str) -> int:
        proj.run_key(workflow_id, run_id)
        return self._read(lambda conn, s: _index.head(conn, s, workflow_id, run_id))

    def get_run(self, workflow_id: str, run_id: str) -> RunSummary | None:
        proj.run_key(workflow_id, run_id)
        return self._read(lambda conn, s: _index.get_run(conn, s, workflow_id, run_id))

    def runs(
        self, status: WorkflowStatus | None = None, workflow_type: str | None = None
    ) -> list[RunSummary]:
        return self._read(lambda conn, s: _index.runs(conn, s, status, workflow_type))

    def search(self, query: RunQuery) -> RunPage:
        """See `EventStore.search`; served by indexed columns and `search_terms` (`_search`)."""
        return self._read(lambda conn, s: _search.search(conn, s, query))

    def open_runs(self) -> list[RunSummary]:
        return self._read(_index.open_runs)

    def latest_run(self, workflow_id: str) -> RunSummary | None:
        check_id(workflow_id, "workflow_id")
        return self._read(lambda conn, s: _index.latest_run(conn, s, workflow_id))

    def due_timers(self, as_of: int, limit: int | None = None) -> list[DueTimer]:
        return self._read(lambda conn, s: _timers.due(conn, s, as_of, limit))

    def next_timer(self) -> DueTimer | None:
        return self._read(_timers.first)

    # Retention (the contract is `_lmdb_prune`'s; the Postgres side is `_prune`)

    def expired_runs(
        self, as_of: int, retention_of: RetentionOf, limit: int | None = None
    ) -> list[RunSummary]:
        return self._read(lambda conn, s: _prune.expired(conn, s, as_of, retention_of, limit))

    def next_expiry(self, retention_of: RetentionOf) -> int | None:
        return self._read(lambda conn, s: _prune.next_expiry(conn, s, retention_of))

    def delete_run(self, workflow_id: str, run_id: str) -> bool:
        return self.delete_runs([(workflow_id, run_id)])[0]

    def delete_runs(self, runs: Sequence[tuple[str, str]]) -> list[bool]:
        for workflow_id, run_id in runs:
            proj.run_key(workflow_id, run_id)
        self._check_writable()
        return _prune.delete_runs(self._writing, self.target.schema, list(runs))

    # Lifecycle

    def closing(self) -> None:
        """The engine closes: a read that finds the server gone gives up (`ReadGaveUp`)."""
        self._backoff.closing()

    def close(self) -> None:
        """Close the pool and release the store's lock; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._backoff.close()
        with self._write_lock:
            self._pool.close()
            self._owner.release()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("readonly" if self.readonly else "open")
        return f"PostgresStore({self.path!r}, {state})"
