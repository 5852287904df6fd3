"""The two ends of a copy, opened with their locks: the source, held so that nothing moves
it meanwhile, and the destination, which must be empty or a copy left unfinished.

A path names a data directory, a `postgresql://` URL a PostgreSQL store. The
source must exist (nothing is created at a mistyped path); the destination may be a
new directory (its parent must exist), an empty one, an empty store, a new schema, or
a store an interrupted copy marked (`copy_started`): that one is resumed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from aion_actors.core import AionError, ConfigError
from aion_actors.store._lmdb_file import DATA_FILE
from aion_actors.store._search import RunQuery
from aion_actors.store.lmdb_store import LmdbStore
from aion_actors.store.postgres._connect import is_url, parse
from aion_actors.store.protocol import DueTimer, EventStore, RunSummary

if TYPE_CHECKING:
    from aion_actors.store.postgres import PostgresStore

#: a store's path or URL as the caller gave it
Target = str | os.PathLike[str]


class Copyable(EventStore, Protocol):
    """A store a copy can fill, and read a page at a time: it carries the mark of an
    unfinished copy, and lists runs and timers in id order from after a cursor (see
    `_lmdb_copying`, `postgres._copying`)."""

    def copy_started(self) -> int | None: ...

    def mark_copy(self, since: int | None) -> None: ...

    def runs_after(self, after: tuple[str, str] | None, limit: int) -> list[RunSummary]: ...

    def timers_after(self, after: tuple[str, str, str] | None, limit: int) -> list[DueTimer]: ...

    def freed_among(self, runs: Sequence[tuple[str, str]]) -> list[bool]: ...


def check_distinct(source: Target, dest: Target) -> None:
    """Refuse a destination that is the source, or inside it, before anything is opened."""
    if is_url(source) and is_url(dest):
        a, b = parse(str(source)), parse(str(dest))
        if (a.host, a.port, a.dbname, a.schema) == (b.host, b.port, b.dbname, b.schema):
            raise ConfigError(
                f"the destination {b.where} is the source; copy into another database or "
                "another schema (?schema=NAME)"
            )
        return
    if is_url(source) or is_url(dest):
        return
    src, dst = Path(source).resolve(), Path(dest).resolve()
    if dst == src or dst.is_relative_to(src) or src.is_relative_to(dst):
        raise ConfigError(
            f"the destination {dest} is the source {source}, or inside it, or holds it; copy "
            "into a directory of its own"
        )


def open_source(target: Target) -> LmdbStore | PostgresStore:
    """The source, taking its lock (`DataDirLocked` naming the engine that holds it)."""
    if is_url(target):
        from aion_actors.store.postgres import PostgresStore

        pg_store = PostgresStore(str(target), create=False, retry_for=5.0, pool_size=2)
        try:
            pending = pg_store.pending_calls()
            if pending:
                raise AionError(
                    f"{pg_store.path} holds {pending} call(s) between nodes that no node has "
                    "applied yet (its requests table): a copy would lose them — open an "
                    "engine on it until they are applied (each node applies its partitions' "
                    "calls at once), close it, then copy"
                )
        except BaseException:
            pg_store.close()
            raise
        return pg_store
    directory = Path(target)
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise ConfigError(
            f"the source {directory} {what}; give an aion-actors data directory or a "
            "postgresql:// URL"
        )
    store = LmdbStore(directory, create=False)
    damaged = store.damaged_runs()
    if damaged:
        store.close()
        raise AionError(
            f"the source {directory} has {len(damaged)} run index entr(ies) that do not decode "
            f"(run {damaged[0].run_id} of {damaged[0].workflow_id!r} first): a copy would leave "
            f"those runs out — rebuild the index first (`aion-actors doctor {directory} "
            "--rebuild-index`), then copy"
        )
    return store


def open_dest(target: Target) -> LmdbStore | PostgresStore:
    """The destination, taking its lock; created when it is new (a data directory only
    in an existing parent directory, so a mistyped path creates nothing)."""
    if is_url(target):
        from aion_actors.store.postgres import PostgresStore

        return PostgresStore(str(target), copying=True, retry_for=30.0, pool_size=2)
    directory = Path(target)
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"the destination {directory} is a file; give a new or empty directory")
    if not directory.exists() and not directory.parent.is_dir():
        raise ConfigError(
            f"the directory {directory.parent} for the destination {directory.name!r} does "
            "not exist; create it or check the path (a copy creates only DEST itself)"
        )
    if directory.is_dir() and any(directory.iterdir()) and not (directory / DATA_FILE).exists():
        raise ConfigError(
            f"the destination {directory} holds files but no aion-actors store; give a new "
            "or empty directory, or an empty data directory"
        )
    return LmdbStore(directory, copying=True)


def claim_dest(dest: Copyable, name: str, now: int) -> int | None:
    """Mark `dest` as being filled by a copy begun `now`, unless an unfinished copy marked it
    already: returns that copy's start (the copy resumes), or None for a fresh copy.
    A destination that holds runs (or timers) and no mark is refused: nothing is written."""
    since = dest.copy_started()
    if since is not None:
        return since
    if dest.search(RunQuery(limit=1)) or dest.next_timer() is not None:
        raise ConfigError(
            f"the destination {name} already holds runs; a copy goes only into an empty "
            "store: give a new directory (or a new schema, ?schema=NAME)"
        )
    dest.mark_copy(now)
    return None
