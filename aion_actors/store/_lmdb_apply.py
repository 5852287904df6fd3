"""One group commit's writes in LMDB: what `LmdbStore.append_batch` does inside its transaction.

Each request is checked against its run's stored summary (`expected_seq`, a closed
run), then its events, timers and summary are written; the search and expiry
indexes follow the summaries the batch touched.
"""

from __future__ import annotations

from typing import Any

import lmdb

from aion_actors.core import AionError, CorruptEvent, Event, SequenceConflict, faults, packb
from aion_actors.store import _lmdb_prune, _lmdb_search
from aion_actors.store import _projection as proj
from aion_actors.store._lmdb_records import TimerIndex, load_summary


def apply_all(
    txn: lmdb.Transaction[bytes],
    dbs: dict[bytes, Any],
    timer_index: TimerIndex,
    batch: list[proj.Prepared | AionError],
) -> list[list[Event] | AionError]:
    """Write each prepared request of `batch` in `txn`, or say why not (its error, in
    its place): the events, the timers, the run index and every index kept beside it."""
    results: list[list[Event] | AionError] = []
    touched: dict[bytes, proj.Summary] = {}
    before: dict[bytes, proj.Summary | None] = {}  # as stored, for the search index
    events = txn.cursor(db=dbs[b"events"])
    middle = len(batch) // 2 if faults.ARMED else -1
    for index, request in enumerate(batch):
        if index == middle:
            faults.hit("commit.middle")  # half the batch written, nothing committed
        if isinstance(request, AionError):
            results.append(request)
            continue
        key = request.run_key
        try:
            summary = touched.get(key) or load_summary(txn, dbs[b"runs"], request)
        except CorruptEvent as exc:
            results.append(exc)
            continue
        head = summary["head"] if summary else 0
        if head != request.expected_seq:
            ids = {"workflow_id": request.workflow_id, "run_id": request.run_id}
            results.append(SequenceConflict(request.expected_seq, head, **ids))
            continue
        if (closed := proj.closed_to(summary, request)) is not None:
            results.append(closed)
            continue
        if not request.events:
            results.append([])
            continue
        before.setdefault(key, dict(summary) if summary else None)
        if summary is None:
            summary = proj.new_summary(request.workflow_id, request.run_id, request.events[0])
        prefix = key + b"\0"
        events.putmulti(
            [
                (prefix + event.seq.to_bytes(8, "big"), data)
                for event, data in zip(request.events, request.encoded, strict=True)
            ]
        )
        timer_index.apply(txn, prefix, proj.fold(summary, request.events))
        touched[key] = summary
        results.append(request.events)
    counts: dict[bytes, int] = {}  # search row counts, written once per prefix
    for key, summary in touched.items():
        txn.put(key, packb(summary), db=dbs[b"runs"])
        _lmdb_search.update(txn, dbs, key, before[key], summary, counts)
    _lmdb_search.write_counts(txn, dbs, counts)
    for key in [key for key, summary in touched.items() if summary["ended_at"] is not None]:
        _lmdb_prune.closed_in_txn(txn, dbs, key, touched[key])  # closed in this batch
    return results
