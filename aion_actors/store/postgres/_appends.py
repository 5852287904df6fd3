"""One group commit on Postgres: many runs' appends in one transaction, in two round trips.

Pipelined (psycopg pipeline mode on an autocommit connection: everything sent
before the pipeline's closing Sync is one implicit transaction, committed by
that Sync; no `BEGIN` or `COMMIT` to wait for):

1. one query: the transaction id (kept to settle a commit whose answer is lost)
   and the summaries of every run in the batch, row-locked; it goes out before
   the batch is stamped and encoded, so the server answers meanwhile;
2. the appends checked and folded in Python by the shared projection; then one
   statement writes the events (`INSERT` from `unnest` of binary arrays built
   in `_arrays`) and the run index (an upsert); the search terms and the
   retention filing when the batch changes them, the timers (at most three
   set-wise statements) and the `NOTIFY` follow, and the Sync's answer is
   awaited.

Each statement the single writer sends costs it a wait for the GIL when other
threads are busy (a batch used to take nine): hence so few. A request that
fails its check (`SequenceConflict`, a closed run, a damaged index entry)
fails alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
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
from aion_actors.store.postgres import _arrays, _index, _prune, _search
from aion_actors.store.postgres._schema import partition_of
from aion_actors.store.postgres._timers import TimerChanges, notify
from aion_actors.store.protocol import AppendRequest

_Run = tuple[str, str]
_PARKED = WorkflowStatus.PARKED.value
Results = list[list[Event] | AionError]
#: inside a write's transaction: the requests the store may write, the others replaced
#: by their error
Fence = Callable[[Any, list[proj.Prepared | AionError]], list[proj.Prepared | AionError]]
#: inside a write's transaction, after its events: what else the requests written (and
#: the runs they closed, and those they left parked) settle — a node's: the request
#: rows of other nodes' calls
Consumed = Callable[[Any, list[proj.Prepared], list[_Run], list[_Run]], None]


class Batch:
    """A batch's requests, stamped and encoded once (when first needed: while the
    server answers the first round trip) however many attempts it takes."""

    def __init__(self, requests: Sequence[AppendRequest], clock: proj.Clock) -> None:
        self._requests = requests
        self._clock = clock
        self._prepared: list[proj.Prepared | AionError] | None = None

    def runs(self) -> list[_Run]:
        """The runs to lock: those of every request whose ids a store can key."""
        found: dict[_Run, None] = {}
        for request in self._requests:
            try:
                proj.run_key(request.workflow_id, request.run_id)
            except AionError:
                continue  # (`prepared` refuses it)
            found[(request.workflow_id, request.run_id)] = None
        return list(found)

    def prepared(self) -> list[proj.Prepared | AionError]:
        if self._prepared is None:
            self._prepared = [proj.prepare(request, self._clock()) for request in self._requests]
        return self._prepared


class Attempt:
    """What one commit attempt got to: its transaction id and its results once known
    (a lost connection after both leaves the commit in doubt)."""

    def __init__(self) -> None:
        self.xid: int | None = None
        self.results: Results = []


def xid_status(conn: Any, xid: int) -> str | None:
    """How transaction `xid` ended on the server ("committed", "aborted", "in progress")."""
    row = conn.execute("SELECT txid_status(%s)", (xid,)).fetchone()
    conn.rollback()
    return row[0] if row else None


def _load(conn: Any, s: str, runs: list[_Run]) -> Any:
    """Send the one query of the transaction id and the summaries of `runs`, row-locked
    (a row of NULLs when none is stored yet); its cursor (see `_stored`)."""
    return conn.execute(
        f"""WITH locked AS (SELECT r.workflow_id, r.run_id, r.summary FROM {s}.runs r
            JOIN unnest(%s::text[], %s::text[]) AS k(w, i)
            ON r.workflow_id = k.w AND r.run_id = k.i FOR UPDATE OF r)
        SELECT txid_current(), l.workflow_id, l.run_id, l.summary
        FROM (VALUES (1)) AS one LEFT JOIN locked l ON true""",
        (_arrays.text([w for w, _ in runs]), _arrays.text([r for _, r in runs])),
        binary=True,
    )


def _stored(cursor: Any) -> tuple[int, dict[_Run, bytes]]:
    rows = cursor.fetchall()
    stored = {(w, r): bytes(data) for _, w, r, data in rows if w is not None}
    return int(rows[0][0]), stored


@contextlib.contextmanager
def _implicit(conn: Any, errors: tuple[type[BaseException], ...]) -> Iterator[None]:
    """`conn` in autocommit mode, where psycopg sends no `BEGIN`: what a pipeline sends
    before its closing Sync is one implicit transaction, committed by that Sync
    (skipped from a failed statement on, and rolled back). Afterwards `conn` is as
    the pool lent it (closed if that fails: the pool then drops it)."""
    conn.autocommit = True
    try:
        yield
    finally:
        try:
            conn.rollback()  # (nothing is sent when the transaction ended)
            conn.autocommit = False
        except errors:
            conn.close()


def commit(
    conn: Any,
    s: str,
    partitions: int,
    batch: Batch,
    timers: TimerChanges,
    attempt: Attempt,
    errors: tuple[type[BaseException], ...],
    fence: Fence,
    consumed: Consumed | None = None,
) -> None:
    """Apply `batch` in one transaction on `conn` (see the module); `attempt.results`
    holds per request its events or its error (`timers.committed()` once this returns).
    `fence` (in the transaction, before any write) refuses requests this store may not
    write: a node's, those of partitions whose lease it lost (`OwnershipLost`)."""
    runs = batch.runs()
    if not runs:
        # no request names a run a store can key: each is refused, before the store
        attempt.results = [p for p in batch.prepared() if isinstance(p, AionError)]
        return
    with _implicit(conn, errors), conn.pipeline():
        loading = _load(conn, s, runs)  # (a statement goes out as it is queued)
        prepared = batch.prepared()  # while the server answers
        attempt.xid, stored = _stored(loading)
        prepared = fence(conn, prepared)
        attempt.results = _write(conn, s, partitions, prepared, stored, timers, consumed)
    # (the Sync closing the pipeline committed)


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


def _write(
    conn: Any,
    s: str,
    partitions: int,
    batch: list[proj.Prepared | AionError],
    stored: dict[_Run, bytes],
    timers: TimerChanges,
    consumed: Consumed | None = None,
) -> Results:
    """Check and fold `batch` against the `stored` summaries and queue its writes."""
    results: Results = []
    touched: dict[_Run, proj.Summary] = {}
    listed: dict[_Run, _search.Listed] = {}  # what each run was listed under before
    rows: list[tuple[str, str, int, int, bytes]] = []
    written: list[proj.Prepared] = []
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
        if run not in listed:
            listed[run] = _search.listed(summary)
        if summary is None:
            summary = proj.new_summary(*run, request.events[0])
        partition = partition_of(run[0], partitions)
        rows.extend(
            (run[0], run[1], event.seq, partition, data)
            for event, data in zip(request.events, request.encoded, strict=True)
        )
        ops = proj.fold(summary, request.events)
        ended = summary["status"] not in proj.OPEN
        timers.add(run, partition, ops, new_run=new_run, ended=ended)
        touched[run] = summary
        written.append(request)
        results.append(request.events)
    if rows:
        runs_sql, runs_params = _index.upsert(s, partitions, touched)
        events_sql, events_params = _events(s, rows)
        conn.execute(  # one statement: each costs the writer a wait for the GIL
            f"WITH written AS ({events_sql}) {runs_sql}",
            (*events_params, *runs_params),
            binary=True,
        )
        closed_now = {run: sm for run, sm in touched.items() if sm["status"] not in proj.OPEN}
        if consumed is not None:
            parked = [run for run, sm in touched.items() if sm["status"] == _PARKED]
            consumed(conn, written, list(closed_now), parked)
        _search.update(conn, s, listed, touched)
        if closed_now:
            _prune.closed(conn, s, closed_now)
        timers.apply(conn, s)
        earliest = timers.earliest()
        if earliest is not None:
            notify(conn, s, earliest)
    return results


def _events(s: str, rows: list[tuple[str, str, int, int, bytes]]) -> tuple[str, tuple[Any, ...]]:
    """The statement (and its parameters) inserting a batch's events."""
    workflow_ids, run_ids, seqs, partitions, data = zip(*rows, strict=True)
    return (
        f"""INSERT INTO {s}.events (workflow_id, run_id, seq, partition, data)
        SELECT * FROM unnest(%s::text[], %s::text[], %s::int8[], %s::int4[], %s::bytea[])""",
        (
            _arrays.text(workflow_ids),
            _arrays.text(run_ids),
            _arrays.int8(seqs),
            _arrays.int4(partitions),
            _arrays.bytea(data),
        ),
    )
