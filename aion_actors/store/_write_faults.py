"""A write LMDB refused, as the engine's error: a full disk is `StoreFull`, any other
failure to write `StoreUnavailable` — never a raw `lmdb.Error`, and never a workflow crash."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

import lmdb

from aion_actors.core import StoreFull, StoreUnavailable

#: what `LmdbStore.check_writable` writes: when the store last proved it could write
PROBE_KEY: Final = b"writable_at"
#: below this much free space, a failed write is taken for a full disk
FULL_BELOW: Final = 64 * 1024 * 1024


def free_bytes(path: Path) -> int | None:
    """Bytes free for us on the file system holding `path` (None if it cannot tell)."""
    try:
        stat = os.statvfs(path)
    except OSError:
        return None
    return stat.f_bavail * stat.f_frsize


def unwritable(path: Path, failure: BaseException) -> BaseException:
    """A failed write as the engine's error. LMDB reports a full disk as an I/O error,
    so the free space decides whether it is `StoreFull`; a damaged file stays LMDB's
    error for the damage checks to name."""
    if not isinstance(failure, lmdb.Error) or isinstance(
        failure, lmdb.CorruptedError | lmdb.PageNotFoundError
    ):
        return failure
    free = free_bytes(path)
    if free is not None and free < FULL_BELOW:
        return StoreFull(str(path), free)
    return StoreUnavailable(str(path), f"{type(failure).__name__}: {failure}")
