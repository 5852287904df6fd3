"""A consistent copy of a live LMDB store, taken while its engine keeps writing.

LMDB copies an environment inside one read transaction (`mdb_env_copy2`): the
copy holds every commit up to the instant it began, none after, and nothing
half-written, whatever the writer does meanwhile — unlike `cp` of `data.mdb`,
which can catch a commit half-way (a torn copy, refused as `CorruptStore` when
opened). With compaction, only pages in use are written, renumbered: the copy
is as small as the data it holds (a store's file never shrinks; pages freed by
pruning are reused, not returned).

The copy is written into a hidden directory beside the destination, flushed,
marked `aion.dir`, opened read-only and read through its run index, and only
then renamed to the destination: a backup interrupted at any instant leaves no
directory that looks like a backup.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import lmdb

from aion_actors.core import AionError, ConfigError, faults
from aion_actors.core.errors import CorruptStore
from aion_actors.store import _lmdb_env, _lmdb_file
from aion_actors.store._lmdb_env import DAMAGE


@dataclass(frozen=True, slots=True)
class Backup:
    """A backup just written: where, its size, and what it holds."""

    #: the backup's data directory: open it as a store, or put it in the original's place
    path: Path
    #: bytes of the backup's `data.mdb`
    size: int
    #: bytes of the original's `data.mdb` when the copy was taken
    source_size: int
    #: runs in the backup's run index (read back from the copy itself)
    runs: int
    #: whether free pages were left out (`compact=True`)
    compacted: bool


def check_destination(dest: Path) -> None:
    """Refuse a destination that holds anything, or whose parent is not there, before
    anything is copied: a backup never writes into (or over) another directory's files."""
    if dest.exists() and not dest.is_dir():
        raise ConfigError(f"backup destination {dest} exists and is not a directory")
    if dest.is_dir() and any(dest.iterdir()):
        raise ConfigError(
            f"backup destination {dest} is not empty; give a new directory (a backup never "
            "writes over files)"
        )
    if not dest.parent.is_dir():
        raise ConfigError(
            f"the directory {dest.parent} for backup {dest.name!r} does not exist; create it "
            "or check the path"
        )


def copy(
    env: lmdb.Environment, txn: lmdb.Transaction[bytes], source: Path, dest: Path, *, compact: bool
) -> Backup:
    """Copy open environment `env` (the store at `source`) as read transaction `txn` sees
    it to new directory `dest`."""
    dest = Path(dest)
    check_destination(dest)
    if dest.resolve().is_relative_to(source.resolve()):
        raise ConfigError(
            f"backup destination {dest} is inside the data directory {source}; put it outside "
            "(a backup inside the directory it guards is lost with it)"
        )
    staging = dest.parent / f".{dest.name}.partial-{secrets.token_hex(4)}"
    staging.mkdir(mode=0o700)
    try:
        source_size = (source / _lmdb_file.DATA_FILE).stat().st_size
        try:
            env.copy(str(staging), compact=compact, txn=txn if compact else None)  # (py-lmdb)
        except DAMAGE as exc:
            raise CorruptStore(
                str(source / _lmdb_file.DATA_FILE),
                f"LMDB could not copy the store ({exc})",
                advice=("try again without compaction (--no-compact); " if compact else "")
                + f"`aion-actors doctor {source}` lists what is damaged",
            ) from None
        except lmdb.Error as exc:
            raise AionError(
                f"backup of {source} to {dest} failed: {exc}; check the space and the "
                f"permissions where it goes (nothing was written to {dest})"
            ) from None
        os.chmod(staging / _lmdb_file.DATA_FILE, 0o600)  # (as the store's own: payloads)
        _flush(staging / _lmdb_file.DATA_FILE)
        _lmdb_file.mark(staging)  # (flushes the directory too)
        runs = _runs_in(staging)
        if faults.ARMED:
            faults.hit("backup.copied")
        if dest.is_dir():
            dest.rmdir()  # (checked empty above)
        os.rename(staging, dest)
        _flush(dest.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    size = (dest / _lmdb_file.DATA_FILE).stat().st_size
    return Backup(dest, size, source_size, runs, compact)


def _flush(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _runs_in(directory: Path) -> int:
    """Open the copy, read-only, and count its run index's entries: a copy that does not
    open or read is no backup."""
    env, dbs = _lmdb_env.open_env(directory, readonly=True, sync=False, map_size=1 << 20)
    try:
        with env.begin() as txn:
            return int(txn.stat(dbs[b"runs"])["entries"])
    finally:
        env.close()
