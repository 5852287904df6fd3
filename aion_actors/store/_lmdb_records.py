"""How run index entries and timer keys are written to and read back from LMDB, damage included."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lmdb

from aion_actors.core import CorruptEvent, Event, decode_event, unpackb
from aion_actors.store import _projection as proj
from aion_actors.store.protocol import DueTimer, RunSummary

log = logging.getLogger("aion_actors.store")
_damaged_timers: set[bytes] = set()  # logged once each


@dataclass(frozen=True, slots=True)
class DamagedRun:
    """A run index entry that does not decode: its run is left out of listings and recovery."""

    workflow_id: str
    run_id: str
    problem: str


def unpack_summary(data: bytes, workflow_id: str, run_id: str) -> dict[str, Any]:
    """A stored run index entry; anything but a msgpack map is a `CorruptEvent`."""
    try:
        record = unpackb(data)
    except Exception as exc:
        record = exc
    if not isinstance(record, dict):
        raise CorruptEvent(
            f"run index entry is not a msgpack map ({record!r:.80})",
            workflow_id=workflow_id,
            run_id=run_id,
        )
    return record


def head_of(record: dict[str, Any]) -> int:
    head = record.get("head")
    if not isinstance(head, int):
        raise CorruptEvent(
            f"run index entry has no head ({head!r})",
            workflow_id=record.get("workflow_id"),
            run_id=record.get("run_id"),
        )
    return head


def load_summary(txn: lmdb.Transaction[bytes], db: Any, request: Any) -> dict[str, Any] | None:
    """The stored index entry of the run `request` (a `Prepared`) appends to, checked."""
    data = txn.get(request.run_key, db=db)
    if data is None:
        return None
    record = unpack_summary(data, request.workflow_id, request.run_id)
    head_of(record)
    return record


def ids_of(key: bytes) -> tuple[str, str]:
    """The (workflow_id, run_id) a `runs` key names (undecodable bytes replaced)."""
    workflow_id, _, run_id = key.decode(errors="replace").partition("\0")
    return workflow_id, run_id


def entries(txn: lmdb.Transaction[bytes], db: Any, prefix: bytes) -> list[tuple[bytes, bytes]]:
    """The (key, value) pairs of `db` whose keys start with `prefix`, in key order."""
    cursor = txn.cursor(db=db)
    found = []
    if cursor.set_range(prefix):
        for key, data in cursor:
            if not key.startswith(prefix):
                break
            found.append((key, data))
    return found


def summaries(stored: list[tuple[bytes, bytes]]) -> tuple[list[RunSummary], list[DamagedRun]]:
    """The `runs` entries that decode, and those that do not."""
    found: list[RunSummary] = []
    damaged: list[DamagedRun] = []
    for key, data in stored:
        workflow_id, run_id = ids_of(key)
        try:
            record = unpack_summary(data, workflow_id, run_id)
            found.append(proj.to_summary(record, workflow_id, run_id))
        except CorruptEvent as exc:
            damaged.append(DamagedRun(workflow_id, run_id, exc.problem))
    return found, damaged


def damaged_entries(txn: lmdb.Transaction[bytes], db: Any) -> list[DamagedRun]:
    """The `runs` entries that do not decode, read one at a time (no list of the rest)."""
    damaged: list[DamagedRun] = []
    for entry in txn.cursor(db=db):
        damaged.extend(summaries([entry])[1])
    return damaged


class DamageLog:
    """Logs each damaged run index entry, and a damaged search index, once per store, with
    what to do about it."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._seen: set[tuple[str, str]] = set()
        self._search_damaged = False

    def search_damaged(self, problem: str) -> None:
        if self._search_damaged:
            return
        self._search_damaged = True
        log.warning(
            "the search index of %s is damaged (%s): run listings read the whole run index "
            "instead, complete but slower; `aion-actors doctor %s --rebuild-index` rebuilds "
            "the index (stop the engine that owns the directory first)",
            self._directory,
            problem,
            self._directory,
        )

    def note(self, damaged: list[DamagedRun]) -> None:
        for run in damaged:
            if (run.workflow_id, run.run_id) in self._seen:
                continue
            self._seen.add((run.workflow_id, run.run_id))
            log.warning(
                "the run index entry of workflow %r, run %s in %s is damaged (%s): recovery "
                "and run listings skip the run; `aion-actors doctor %s --rebuild-index` "
                "rebuilds the index from the events",
                run.workflow_id,
                run.run_id,
                self._directory,
                run.problem,
                self._directory,
            )


def due_timer(key: bytes, fire_at: int) -> DueTimer | None:
    """The timer a `timers` key names: 8 bytes of fire_at, then its ids joined by NUL.

    A key that does not decode is logged and skipped (`aion-actors doctor` names it).
    """
    try:
        workflow_id, run_id, timer_id = key[8:].decode().split("\0", 2)
    except ValueError:
        if key not in _damaged_timers:
            _damaged_timers.add(key)
            log.warning("skipping a damaged timer key %r; `aion-actors doctor` lists it", key[:80])
        return None
    return DueTimer(workflow_id, run_id, timer_id, fire_at)


def due_timers(
    txn: lmdb.Transaction[bytes], timers: Any, as_of: int, limit: int | None
) -> list[DueTimer]:
    """Timers of the `timers` sub-database due by `as_of`, earliest first, at most `limit`."""
    due: list[DueTimer] = []
    for key in txn.cursor(db=timers).iternext(values=False):
        fire_at = int.from_bytes(key[:8], "big")
        if fire_at > as_of or (limit is not None and len(due) >= limit):
            break
        timer = due_timer(key, fire_at)
        if timer is not None:
            due.append(timer)
    return due


class TimerIndex:
    """The two timer sub-databases: `timers` (due order) and `timer_ids` (by run and id)."""

    def __init__(self, timers: Any, timer_ids: Any) -> None:
        self._timers = timers
        self._timer_ids = timer_ids

    def schedule(self, txn: lmdb.Transaction[bytes], key: bytes, fire_at: int) -> None:
        self.cancel(txn, key)
        at = fire_at.to_bytes(8, "big")
        txn.put(key, at, db=self._timer_ids)
        txn.put(at + key, b"", db=self._timers)

    def cancel(self, txn: lmdb.Transaction[bytes], key: bytes) -> None:
        at = txn.pop(key, db=self._timer_ids)
        if at is not None:
            txn.delete(at + key, db=self._timers)

    def cancel_all(self, txn: lmdb.Transaction[bytes], prefix: bytes) -> None:
        cursor = txn.cursor(db=self._timer_ids)
        if not cursor.set_range(prefix):
            return
        while cursor.key().startswith(prefix):
            txn.delete(cursor.value() + cursor.key(), db=self._timers)
            if not cursor.delete():
                return

    def apply(self, txn: lmdb.Transaction[bytes], prefix: bytes, ops: list[proj.TimerOp]) -> None:
        """Apply a fold's timer changes for the run whose keys start with `prefix`.

        Most ops cancel a timer that was never set (every closed activity cancels
        its three): one look at `timer_ids` says whether the run has any timer at
        all, and a run with none skips its cancels instead of a lookup for each.
        """
        timer_ids, timers = self._timer_ids, self._timers
        live = None  # whether the run may have a timer; None: not looked yet
        for op, timer_id, fire_at in ops:
            if op == proj.CANCEL:  # (most ops: every closed activity cancels three timers)
                if live is None:
                    live = self.any_of(txn, prefix)
                if not live:
                    continue
                key = prefix + timer_id.encode()
                at = txn.pop(key, db=timer_ids)  # `cancel`, inline: once per op per event
                if at is not None:
                    txn.delete(at + key, db=timers)
            elif op == proj.SCHEDULE:
                self.schedule(txn, prefix + timer_id.encode(), fire_at)
                live = True
            else:
                self.cancel_all(txn, prefix)
                live = False

    def any_of(self, txn: lmdb.Transaction[bytes], prefix: bytes) -> bool:
        """Whether the run whose keys start with `prefix` has a timer (one cursor seek)."""
        cursor = txn.cursor(db=self._timer_ids)
        return cursor.set_range(prefix) and cursor.key().startswith(prefix)


def read_history(
    txn: lmdb.Transaction[bytes],
    dbs: dict[bytes, Any],
    workflow_id: str,
    run_id: str,
    start: int,
    until: int | None = None,
) -> list[Event]:
    """A run's events from seq `start` to `until` (its head when None or past it),
    decoded and checked."""
    key = proj.run_key(workflow_id, run_id)
    start = max(start, 1)
    stored = txn.get(key, db=dbs[b"runs"])
    head = head_of(unpack_summary(stored, workflow_id, run_id)) if stored else 0
    if until is not None:
        head = min(head, until)
    if start > head:
        return []
    cursor = txn.cursor(db=dbs[b"events"])
    found = cursor.set_key(key + b"\0" + start.to_bytes(8, "big"))
    # Seqs are contiguous, so the head bounds the range: no key to parse per
    # event, and decode_event checks each event's seq against its place.
    values = cursor.iternext(keys=False) if found else iter(())
    events = [
        decode_event(data, workflow_id=workflow_id, run_id=run_id, seq=seq)
        for seq, data in zip(range(start, head + 1), values, strict=False)
    ]
    if len(events) <= head - start:
        raise CorruptEvent(
            f"missing from the store, though the run index says the head is {head}",
            workflow_id=workflow_id,
            run_id=run_id,
            seq=start + len(events),
        )
    return events
