"""Opening an LMDB data directory: its owner lock, file and schema checks, and the
reader slots dead processes leave behind (its reader gate: `_lmdb_gate`).

The owner lock is an OS lock (`flock`) on the directory and on `<dir>/aion.lock`
(which names the holder), so it dies with its process: a killed engine's
directory is taken over without manual cleanup, and a live one is refused with
its pid. LMDB forbids opening one
environment twice in a process, so a process-wide registry refuses that too.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import lmdb

from aion_actors.core import (
    SCHEMA_VERSION,
    ConfigError,
    DataDirLocked,
    SchemaMismatch,
    packb,
    unpackb,
)
from aion_actors.core.errors import CorruptStore
from aion_actors.store import _lmdb_access, _lmdb_copying, _lmdb_file

DB_NAMES: Final = (b"events", b"runs", b"timers", b"timer_ids", b"meta")
#: sub-databases added since the first schema: created when a data directory written by
#: an older version is opened writable (then built: `_lmdb_prune`, `_lmdb_search`), absent
#: from `dbs` when it is opened read-only (readers treat them as empty or absent)
ADDED_DB_NAMES: Final = (b"expiry", b"search", b"search_counts")
#: room for sub-databases later versions add
_MAX_DBS: Final = 16
SCHEMA_KEY: Final = b"schema_version"
LOCK_FILE: Final = _lmdb_access.LOCK_FILE
_MAX_READERS: Final = 1024
#: LMDB errors that mean the file is damaged (not full, not busy): raised as `CorruptStore`
DAMAGE: Final = (
    lmdb.CorruptedError,
    lmdb.PageNotFoundError,
    lmdb.InvalidError,
    lmdb.VersionMismatchError,
    lmdb.IncompatibleError,
)

log = logging.getLogger("aion_actors.store")

_open_dirs: dict[str, bool] = {}
_open_dirs_lock = threading.Lock()


class DirLock:
    """Exclusive ownership of a data directory, recorded with the owner's pid.

    The lock is on the directory itself as well as on `aion.lock`: an operator who
    deletes `aion.lock` as a "stale lock" file must not let a second engine into a
    live directory (it would run completed steps again). `aion.lock` names the holder
    (and is what an engine of an earlier version locks).
    """

    def __init__(self, directory: Path) -> None:
        held = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        fd = -1
        try:
            _take(held, directory)
            try:
                fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as exc:
                raise _lmdb_access.unwritable(directory, exc) from None
            _take(fd, directory, fd)
        except BaseException:
            for each in (fd, held):
                if each >= 0:
                    os.close(each)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fds = (fd, held)

    def release(self) -> None:
        for fd in self._fds:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _take(fd: int, directory: Path, pid_fd: int | None = None) -> None:
    """flock `fd`, or raise `DataDirLocked` naming the holder `aion.lock` records."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_pid(pid_fd) if pid_fd is not None else _lmdb_access.holder(directory)
        here = holder == os.getpid()
        raise DataDirLocked(str(directory), holder, in_this_process=here) from None


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None


def register(directory: Path, *, readonly: bool) -> str:
    """Claim `directory` for this process until `unregister` (see module docstring)."""
    key = os.path.realpath(directory)
    with _open_dirs_lock:
        holder_readonly = _open_dirs.get(key)
        if holder_readonly is False and not readonly:
            raise DataDirLocked(str(directory), os.getpid(), in_this_process=True)
        if holder_readonly is not None:
            raise ConfigError(
                f"data directory {directory} is already open in this process "
                f"({'read-only' if holder_readonly else 'by its owner'}); LMDB cannot open it "
                "twice in one process — read through the store that is open, or close it first"
            )
        _open_dirs[key] = readonly
    return key


def unregister(key: str) -> None:
    with _open_dirs_lock:
        _open_dirs.pop(key, None)


def require_directory(directory: Path) -> None:
    """Refuse a data directory that is not there (a mistyped path, most likely) before
    anything is opened or created."""
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise ConfigError(f"data directory {directory} {what}; check the path")


def claim(
    directory: Path,
    *,
    readonly: bool,
    create: bool | None,
    sync: bool,
    map_size: int,
    copying: bool = False,
) -> tuple[lmdb.Environment, dict[bytes, Any], contextlib.ExitStack]:
    """Register and (unless read-only) lock `directory`, then open it; the stack undoes both.
    A store a copy is filling is refused unless `copying` (see `_lmdb_copying`)."""
    if readonly and create:
        raise ConfigError(f"create=True needs a writable store, not readonly=True ({directory})")
    if directory.exists() and not directory.is_dir():
        creating = not readonly and create is not False  # (an inspecting command creates none)
        creates = "; one that does not exist yet is created" if creating else ""
        raise ConfigError(
            f"data directory {directory} is a file; give the path of a directory{creates}"
        )
    if not readonly and create is not False:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    else:
        require_directory(directory)
    with contextlib.ExitStack() as undo:
        key = register(directory, readonly=readonly)
        undo.callback(unregister, key)
        if not readonly:
            undo.callback(DirLock(directory).release)
        env, dbs = open_env(
            directory, readonly=readonly, sync=sync, map_size=map_size, create=create
        )
        try:
            _lmdb_copying.check(env, dbs[b"meta"], directory, copying=copying)
        except BaseException:
            env.close()
            raise
        return env, dbs, undo.pop_all()
    raise AssertionError("unreachable")  # for type checkers: ExitStack may swallow


def open_env(
    directory: Path, *, readonly: bool, sync: bool, map_size: int, create: bool | None = None
) -> tuple[lmdb.Environment, dict[bytes, Any]]:
    """Open (or create) the environment and its sub-databases after checking file and schema."""
    _lmdb_file.check_directory(directory, readonly=readonly, create=create)
    try:
        env = lmdb.open(
            str(directory),
            map_size=map_size,
            subdir=True,
            readonly=readonly,
            sync=sync,
            metasync=sync,
            mode=0o600,
            create=not readonly,
            max_dbs=_MAX_DBS,
            max_readers=_MAX_READERS,
            max_spare_txns=4,
            lock=not readonly or _lmdb_access.reader_lock(directory),
        )
    except DAMAGE as exc:
        raise corrupt(directory, exc) from None
    except lmdb.MemoryError as exc:  # ENOMEM: the map is address space this process lacks
        raise ConfigError(
            f"map_size={map_size} bytes cannot be reserved to open {directory} ({exc}); give "
            "a smaller map_size (address space, not disk: the default, 1 GiB, grows when full)"
        ) from None
    except lmdb.Error as exc:
        raise ConfigError(f"cannot open data directory {directory}: {exc}") from None
    try:
        with damage(directory):
            fresh = _check_schema(env, directory)
            if fresh and readonly:
                raise ConfigError(
                    f"{directory} is not an aion-actors data directory (it has no meta "
                    "database); check the path"
                )
            try:
                dbs = {name: env.open_db(name, create=not readonly) for name in DB_NAMES}
            except lmdb.NotFoundError:
                raise ConfigError(
                    f"data directory {directory} lacks some of the sub-databases "
                    f"{', '.join(n.decode() for n in DB_NAMES)}; it is damaged"
                ) from None
            for name in ADDED_DB_NAMES:
                with contextlib.suppress(lmdb.NotFoundError):
                    dbs[name] = env.open_db(name, create=not readonly)
            if fresh:
                with env.begin(write=True) as txn:
                    txn.put(SCHEMA_KEY, packb(SCHEMA_VERSION), db=dbs[b"meta"])
        if not readonly and not (directory / _lmdb_file.MARKER).exists():
            env.sync(True)  # what the marker vouches for is on disk first, even with nosync
            _lmdb_file.mark(directory)
    except lmdb.MapFullError:  # (a fresh store: an old one's map is at least its file)
        env.close()
        raise ConfigError(
            f"map_size={map_size} bytes cannot hold even an empty store in {directory}; give "
            "at least 1 MiB (address space, not disk: the default, 1 GiB, grows when full)"
        ) from None
    except BaseException:
        env.close()
        raise
    return env, dbs


def corrupt(directory: Path, exc: lmdb.Error) -> CorruptStore:
    """The `CorruptStore` an LMDB damage error in `directory` stands for."""
    return CorruptStore(
        str(directory / _lmdb_file.DATA_FILE),
        f"LMDB found damaged pages ({type(exc).__name__}: {exc})",
    )


@contextlib.contextmanager
def damage(directory: Path) -> Iterator[None]:
    """Raise LMDB's damage errors inside the block as a `CorruptStore` naming the file."""
    try:
        yield
    except DAMAGE as exc:
        raise corrupt(directory, exc) from None


class StaleReaders:
    """Frees the reader slots of dead processes, on the writer's own cadence.

    A process killed inside a read transaction (an inspector, `kill -9`) leaves
    its slot in `lock.mdb`, and LMDB keeps every page that transaction could
    see: each later commit then writes new pages and the data file grows until
    the slot is cleared. The writer clears them at open, before the map grows,
    and after every `EVERY_COMMITS` commits or `EVERY_SECONDS` of commits,
    whichever comes first — so a dead reader costs at most that much growth.
    No thread polls: a store that commits nothing grows nothing.
    """

    EVERY_COMMITS: Final = 64
    EVERY_SECONDS: Final = 1.0

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._commits = 0
        self._due = 0.0
        #: slots cleared so far
        self.cleared = 0

    def committed(self, env: lmdb.Environment) -> None:
        """Count a commit; clear stale readers when one cadence has passed."""
        self._commits += 1
        if self._commits >= self.EVERY_COMMITS or time.monotonic() >= self._due:
            self.check(env)

    def check(self, env: lmdb.Environment) -> int:
        """Clear the slots of dead processes now; returns how many."""
        self._commits = 0
        self._due = time.monotonic() + self.EVERY_SECONDS
        try:
            cleared = int(env.reader_check())
        except lmdb.Error as exc:  # never fail a commit that has happened over housekeeping
            log.warning("could not check the reader slots of %s: %s", self._directory, exc)
            return 0
        if cleared:
            self.cleared += cleared
            log.warning(
                "cleared %d reader slot(s) that dead processes left in %s (a process killed "
                "while reading pins old pages, and the data file grows until it is cleared)",
                cleared,
                self._directory,
            )
        return cleared


def _check_schema(env: lmdb.Environment, directory: Path) -> bool:
    """True for an empty environment; raises unless it holds our schema version."""
    marked = (directory / _lmdb_file.MARKER).exists()  # (a store was created here)
    with env.begin() as txn:
        if txn.get(b"meta") is None:
            if txn.cursor().first():
                if marked:  # ours, damaged (a copy taken while its engine wrote, say)
                    raise _unreadable(directory, "its main database lacks the meta database")
                raise ConfigError(
                    f"{directory} holds an LMDB environment that is not an aion-actors "
                    "data directory; use an empty or missing directory"
                )
            return True
    meta = env.open_db(b"meta", create=False)
    with env.begin(db=meta) as txn:
        raw = txn.get(SCHEMA_KEY)
    try:
        found = unpackb(raw) if raw is not None else None
    except Exception:
        found = None
    if not isinstance(found, int):
        if marked:
            raise _unreadable(directory, "its meta database has no readable schema_version")
        raise ConfigError(
            f"data directory {directory} has a meta database without a readable "
            f"schema_version; it was not written by aion-actors or is damaged"
        )
    if found != SCHEMA_VERSION:
        raise SchemaMismatch(str(directory), found, SCHEMA_VERSION)
    return False


def _unreadable(directory: Path, what: str) -> CorruptStore:
    return CorruptStore(
        str(directory / _lmdb_file.DATA_FILE),
        f"{what}, though {_lmdb_file.MARKER} says a store was created here",
    )
