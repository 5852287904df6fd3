"""The LMDB timer index: two sub-databases kept in step, written inside a run's append.

`by_id` maps a timer's key (run key, NUL, timer id) to its fire time; `by_time`
holds fire time + key, so due timers are read in order with one cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lmdb


@dataclass(frozen=True, slots=True)
class TimerDbs:
    by_time: Any
    by_id: Any


def schedule(txn: lmdb.Transaction[bytes], dbs: TimerDbs, key: bytes, fire_at: int) -> None:
    """Arm (or re-arm) the timer `key` at `fire_at`."""
    cancel(txn, dbs, key)
    at = fire_at.to_bytes(8, "big")
    txn.put(key, at, db=dbs.by_id)
    txn.put(at + key, b"", db=dbs.by_time)


def cancel(txn: lmdb.Transaction[bytes], dbs: TimerDbs, key: bytes) -> None:
    at = txn.pop(key, db=dbs.by_id)
    if at is not None:
        txn.delete(at + key, db=dbs.by_time)


def cancel_all(txn: lmdb.Transaction[bytes], dbs: TimerDbs, prefix: bytes) -> None:
    """Every timer of the run whose keys start with `prefix`."""
    cursor = txn.cursor(db=dbs.by_id)
    if not cursor.set_range(prefix):
        return
    while cursor.key().startswith(prefix):
        txn.delete(cursor.value() + cursor.key(), db=dbs.by_time)
        if not cursor.delete():
            return
