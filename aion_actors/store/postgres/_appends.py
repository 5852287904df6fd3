"""One group commit on Postgres: many runs' appends in one transaction.

The summaries of every run in the batch are read (and row-locked) with one
query, the appends are checked and folded in Python by the shared projection,
then the events go in with one binary `COPY`, the run index with one upsert and
the timers with at most three set-wise statements. A request that fails its
check (`SequenceConflict`, a closed run, a damaged index entry) fails alone.
"""

from __future__ import annotations

from typing import Any

from aion_actors.core import (
    AionError,
    CorruptEvent,
    Event,
    SequenceConflict,
    WorkflowStatus,
    unpackb,
)
from aion_actors.store import _projection as proj
from aion_actors.store.postgres import _index
from aion_actors.store.postgres._schema import partition_of
from aion_actors.store.postgres._timers import TimerChanges, notify

_Run = tuple[str, str]
Results = list[list[Event] | AionError]
_OPEN = frozenset(s.value for s in WorkflowStatus if not s.is_terminal)


def _load(conn: Any, s: str, runs: list[_Run]) -> dict[_Run, bytes]:
    rows = conn.execute(
        f"""SELECT r.workflow_id, r.run_id, r.summary FROM {s}.runs r
        JOIN unnest(%s::text[], %s::text[]) AS k(w, i) ON r.workflow_id = k.w AND r.run_id = k.i
        FOR UPDATE OF r""",
        ([w for w, _ in runs], [r for _, r in runs]),
        binary=True,  # binary arrays: no per-element quoting
    ).fetchall()
    return {(w, r): bytes(data) for w, r, data in rows}


def _summary(stored: bytes | None, run: _Run) -> proj.Summary | None:
    if stored is None:
        return None
    try:
        record = unpackb(stored)
    except Exception as exc:
        raise CorruptEvent(
            f"run index entry is damaged ({exc})", workflow_id=run[0], run_id=run[1]
        ) from None
    proj.to_summary(record, *run)  # raises CorruptEvent when it does not hold up
    summary: proj.Summary = record
    return summary


def write(
    conn: Any, s: str, partitions: int, batch: list[proj.Prepared | AionError], timers: TimerChanges
) -> Results:
    """Apply `batch` inside the caller's transaction; per request its events or its error
    (`timers.committed()` once the transaction commits)."""
    runs = list(
        dict.fromkeys((p.workflow_id, p.run_id) for p in batch if isinstance(p, proj.Prepared))
    )
    stored = _load(conn, s, runs) if runs else {}
    results: Results = []
    touched: dict[_Run, proj.Summary] = {}
    rows: list[tuple[str, str, int, int, bytes]] = []
    for request in batch:
        if isinstance(request, AionError):
            results.append(request)
            continue
        run = (request.workflow_id, request.run_id)
        try:
            summary = touched.get(run) or _summary(stored.get(run), run)
        except CorruptEvent as exc:
            results.append(exc)
            continue
        head = summary["head"] if summary else 0
        if head != request.expected_seq:
            results.append(
                SequenceConflict(request.expected_seq, head, workflow_id=run[0], run_id=run[1])
            )
            continue
        if (closed := proj.closed_to(summary, request)) is not None:
            results.append(closed)
            continue
        if not request.events:
            results.append([])
            continue
        new_run = summary is None
        if summary is None:
            summary = proj.new_summary(*run, request.events[0])
        partition = partition_of(run[0], partitions)
        rows.extend(
            (run[0], run[1], event.seq, partition, data)
            for event, data in zip(request.events, request.encoded, strict=True)
        )
        ops = proj.fold(summary, request.events)
        ended = summary["status"] not in _OPEN
        timers.add(run, partition, ops, new_run=new_run, ended=ended)
        touched[run] = summary
        results.append(request.events)
    if rows:
        _copy_events(conn, s, rows)
        _index.upsert(conn, s, partitions, touched)
        timers.apply(conn, s)
        earliest = timers.earliest()
        if earliest is not None:
            notify(conn, s, earliest)
    return results


def _copy_events(conn: Any, s: str, rows: list[tuple[str, str, int, int, bytes]]) -> None:
    with (
        conn.cursor() as cursor,
        cursor.copy(
            f"COPY {s}.events (workflow_id, run_id, seq, partition, data) "
            "FROM STDIN (FORMAT BINARY)"
        ) as copy,
    ):
        copy.set_types(["text", "text", "int8", "int4", "bytea"])
        for row in rows:
            copy.write_row(row)
