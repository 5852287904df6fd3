"""The mark of a data directory that `copy_store` is filling: `meta` key `copy_started` →
msgpack int, when the copy began (unix ns).

Written in a transaction of its own before the copy's first run, deleted in the copy's
last transaction, after every run was written and checked: while it is there every open
but the copy's own (`LmdbStore(copying=True)`) raises `IncompleteCopy`, so no engine runs
on part of the runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import lmdb

from aion_actors.core import IncompleteCopy, packb, unpackb

KEY: Final = b"copy_started"


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
