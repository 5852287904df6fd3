"""Who may read an LMDB data directory, and how, where this user may not write it.

A reader registers in the reader table of LMDB's lock file, `lock.mdb`, so that a
writer in another process does not reuse the pages it reads: even a read-only open
writes that file. Where it cannot (`reader_lock`):

- on a read-only file system (a backup's mount) no engine writes through this
  path, so reading without the lock file is safe — unless an engine owns the
  directory through another, writable path to it (a read-only bind mount or
  container volume of a live directory). The owner lock is an `flock` on the
  directory (`_lmdb_env.DirLock`), the same lock through every path: `no_owner`
  refuses while it is held, and holds it shared while an inspection must keep
  engines out;
- where this user merely may not write it, another user's engine may be writing
  it: refused, naming the directory and what to do.

`unreadable` and `unwritable` are the errors for a data file this user may not
read and a directory an owner may not write.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import pwd
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from aion_actors.core import ConfigError

#: LMDB's lock file, its reader table
LMDB_LOCK: Final = "lock.mdb"
#: the owner lock's file, naming its holder's pid
LOCK_FILE: Final = "aion.lock"


@dataclass(frozen=True, slots=True)
class Access:
    """What a reader may do in a data directory: whether it is on a read-only file
    system, and whether this user may write `lock.mdb` (or create it, if it is missing)."""

    read_only_fs: bool
    lockable: bool

    @classmethod
    def of(cls, directory: Path) -> Access:
        read_only_fs = bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
        lock = directory / LMDB_LOCK
        if lock.exists():
            lockable = os.access(lock, os.R_OK | os.W_OK)
        else:
            lockable = os.access(directory, os.W_OK | os.X_OK)
        return cls(read_only_fs, lockable and not read_only_fs)


def reader_lock(directory: Path, access: Access | None = None) -> bool:
    """Whether a read-only open of `directory` takes LMDB's lock (see the module
    docstring): True where this user may write `lock.mdb`; False on a read-only file
    system no engine owns; elsewhere `ConfigError` naming the directory and what to do."""
    access = Access.of(directory) if access is None else access
    if access.read_only_fs:
        with no_owner(directory):
            return False
    if access.lockable:
        return True
    owner, me = _owner(directory), os.geteuid()
    run_as = (
        f"give yourself write access (`chmod u+w {directory}`)"
        if directory.stat().st_uid == me
        else f"run the command as {owner}"
    )
    raise ConfigError(
        f"data directory {directory} cannot be read safely by this user ({_user(me)}): a "
        f"reader writes LMDB's lock file {LMDB_LOCK} there so that a writer (an engine of "
        f"{owner}, perhaps running now) does not reuse the pages it reads, and this user may "
        f"not write it; {run_as}, or inspect a copy made while no engine runs "
        f"(`cp -a {directory} COPY`), or a read-only mount of it"
    )


@contextlib.contextmanager
def no_owner(directory: Path) -> Iterator[None]:
    """Hold `directory`'s owner lock shared for the block, so no engine starts meanwhile;
    `ConfigError` while an engine owns it (through another path, where this one is
    read-only and so cannot hold LMDB's lock file)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = holder(directory)
            raise ConfigError(
                f"data directory {directory} is on a read-only file system, but an engine "
                f"(process {pid or '?'}) owns it through another, writable path: a reader "
                f"must register in LMDB's lock file {LMDB_LOCK}, which this path cannot "
                "write; inspect it through the writable path (inspection works while the "
                "engine runs), or stop that engine first"
            ) from None
        yield
    finally:
        os.close(fd)  # (releases the lock)


def unreadable(data: Path) -> ConfigError:
    """The error for a data file this user may not read."""
    owner = _owner(data)
    return ConfigError(
        f"{data} cannot be read by this user ({_user(os.geteuid())}; it belongs to {owner}): "
        f"run the command as {owner}, or inspect a copy they make for you while no engine runs"
    )


def unwritable(directory: Path, exc: OSError) -> ConfigError:
    """The error for a directory an owner (an engine, a repair) cannot write its lock file in."""
    if exc.errno == errno.EROFS:
        where = "is on a read-only file system"
        advice = "copy it to a writable place to run an engine on it or repair it"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        owner = _owner(directory)
        where = f"is not writable by this user ({_user(os.geteuid())}; it belongs to {owner})"
        advice = f"run as {owner}"
    else:
        return ConfigError(f"cannot lock data directory {directory}: {exc}")
    return ConfigError(
        f"data directory {directory} {where}: an engine, a prune and `doctor --rebuild-index` "
        f"write it; {advice} — or inspect it as it is, read-only (`aion-actors runs "
        f"{directory}`, `history`, `describe`, `doctor` without a repair; "
        "LmdbStore(path, readonly=True))"
    )


def holder(directory: Path) -> int | None:
    """The pid `aion.lock` records, if it is there (an operator may have deleted it)."""
    try:
        text = (directory / LOCK_FILE).read_text(errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _owner(path: Path) -> str:
    return _user(path.stat().st_uid)


def _user(uid: int) -> str:
    try:
        return f"user {pwd.getpwuid(uid).pw_name}"
    except KeyError:
        return f"uid {uid}"
