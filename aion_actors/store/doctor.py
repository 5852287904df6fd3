"""Checking a data directory for damage, and the repairs that need no backup.

`check` looks at a directory without changing it: the data file against its
meta pages (before anything maps it), every page (when no engine owns the
directory and py-lmdb has its offline page walker), the schema, every run
index entry, every run's events (they decode and their seqs have no gap),
the index and the timers against what the events imply, and the timers
against the runs they belong to. It holds the directory's lock while it
looks, when the lock is free, so no engine starts meanwhile; while an
engine owns the directory it checks a snapshot and skips the page walk. On a
read-only file system (a backup's mount) it holds the owner lock shared (an
engine's lock through another path is refused: `_lmdb_access`). Where this
user may not write the directory it refuses: another user's engine may be
writing it.

`rebuild_index` rewrites the run index and the timers from the events in
one write transaction; it takes the lock, so it refuses while an engine
owns the directory. `create_empty` starts an empty store where a lost
`data.mdb` was.
"""

from __future__ import annotations

import contextlib
import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from aion_actors.core import SCHEMA_VERSION, ConfigError, DataDirLocked, SchemaMismatch
from aion_actors.core.errors import CorruptStore
from aion_actors.store import _lmdb_access, _lmdb_env, _lmdb_file
from aion_actors.store._lmdb_index import Finding, Rebuilt
from aion_actors.store.lmdb_store import LmdbStore

__all__ = ["Checkup", "Finding", "Rebuilt", "check", "create_empty", "rebuild_index"]

#: findings of the page walk reported one by one; the rest are counted
_PAGE_FINDINGS: Final = 20
#: the parts `rebuild_index` rewrites from the events
_REBUILT: Final = frozenset({"index", "timers", "expiry", "search"})
#: page damage `rebuild_index` repairs: search index rows out of key order (it drops
#: those sub-databases without reading their rows, and writes them afresh)
_REBUILT_PAGES: Final = re.compile(
    r"main/search(_counts)? DB: (leaf|branch page \d+ separator) keys out of order"
)


@dataclass(slots=True)
class Checkup:
    """What `check` did, step by step ((name, outcome, ok) with ok None for skipped),
    and what it found wrong."""

    directory: Path
    steps: list[tuple[str, str, bool | None]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: the data file is missing or empty, though a store was created here
    lost: bool = False

    @property
    def healthy(self) -> bool:
        return not self.findings and all(ok is not False for _, _, ok in self.steps)

    @property
    def index_damage_only(self) -> bool:
        """True when every finding is one `rebuild_index` repairs."""
        return bool(self.findings) and all(
            f.part in _REBUILT or (f.part == "pages" and _REBUILT_PAGES.match(f.problem))
            for f in self.findings
        )


def check(directory: Path) -> Checkup:
    """Examine `directory` as the module docstring says; changes nothing in it."""
    up = Checkup(directory)
    data = directory / _lmdb_file.DATA_FILE
    _lmdb_env.require_directory(directory)
    try:
        _lmdb_file.check_directory(directory, readonly=True, create=None)
        meta = _lmdb_file.read_meta(data)
    except CorruptStore as exc:
        up.steps.append(("data file", exc.problem, False))
        up.findings.append(Finding("file", str(exc.path), exc.problem))
        up.lost = not data.exists() or not data.stat().st_size
        return up
    up.steps.append(
        (
            "data file",
            f"{meta.file_size:,} bytes; its last commit (transaction {meta.txnid}) needs "
            f"{meta.needed:,} ({meta.last_page + 1:,} pages of {meta.page_size:,})",
            True,
        )
    )
    # ConfigError where this user may not hold LMDB's lock; False on a read-only file
    # system no engine owns (kept out while it looks, as the owner lock does elsewhere)
    lock = _lmdb_access.reader_lock(directory)
    with _lock_if_free(directory) if lock else _lmdb_access.no_owner(directory) as owner:
        if owner is not None:
            why = f"process {owner} owns the directory; stop its engine for a full check"
            up.steps.append(("pages", f"not walked: {why}", None))
        elif not _walk_pages(data, up):
            return up
        _examine(directory, up)
    return up


def _walk_pages(data: Path, up: Checkup) -> bool:
    """Walk every page without mapping the file; False when it is damaged."""
    try:
        walker: Any = importlib.import_module("lmdb.verify")
    except ImportError:
        up.steps.append(("pages", "not walked: this py-lmdb has no offline page walker", None))
        return True
    try:
        problems = [str(p) for p in walker.verify(str(data), subdir=False)]
    except walker.VerifyError as exc:
        problems = [str(exc)]
    if not problems:
        up.steps.append(("pages", "every page is sound and reachable once", True))
        return True
    up.steps.append(("pages", f"{len(problems)} damaged page structure(s)", False))
    for problem in problems[:_PAGE_FINDINGS]:
        up.findings.append(Finding("pages", str(data), problem))
    if len(problems) > _PAGE_FINDINGS:
        more = f"and {len(problems) - _PAGE_FINDINGS} more"
        up.findings.append(Finding("pages", str(data), more))
    return False


def _examine(directory: Path, up: Checkup) -> None:
    try:
        with LmdbStore(directory, readonly=True) as store:
            report = store.examine()
    except (SchemaMismatch, ConfigError, CorruptStore) as exc:
        up.steps.append(("store", str(exc), False))
        up.findings.append(Finding("store", str(directory), str(exc)))
        return
    up.steps.append(("schema", f"version {SCHEMA_VERSION}", True))
    problems = f"; {len(report.findings)} problem(s)" if report.findings else ""
    up.steps.append(
        (
            "contents",
            f"{report.runs:,} runs indexed, {report.events:,} events, {report.timers:,} timers"
            + problems,
            not report.findings,
        )
    )
    up.findings += report.findings


@contextlib.contextmanager
def _lock_if_free(directory: Path) -> Iterator[int | None]:
    """Hold the directory's lock while it is free (yields None), else yield the owner's pid."""
    try:
        lock = _lmdb_env.DirLock(directory)
    except DataDirLocked as exc:
        yield exc.holder_pid or 0
        return
    try:
        yield None
    finally:
        lock.release()


def rebuild_index(directory: Path) -> Rebuilt:
    """Rewrite the run index and the timers from the events (`DataDirLocked` while owned)."""
    with LmdbStore(directory, create=False) as store:
        return store.rebuild_index()


def create_empty(directory: Path) -> None:
    """Start an empty store where `data.mdb` was lost (missing or empty), and only there."""
    data = directory / _lmdb_file.DATA_FILE
    if data.exists() and data.stat().st_size:
        raise ConfigError(
            f"{data} exists ({data.stat().st_size:,} bytes): --create-empty only replaces a lost "
            "data file (missing or empty); move it away first if you mean to start over"
        )
    if not (directory / _lmdb_file.MARKER).exists():
        raise ConfigError(
            f"{directory} holds no store that was lost; an engine creates a new one by itself"
        )
    with LmdbStore(directory, create=True):
        pass
