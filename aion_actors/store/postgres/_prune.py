"""Retention on Postgres: closed runs ordered by when they may go, and deleting them.

The contract is `_lmdb_prune`'s. Here it lives in the run index itself:

- `runs.freed_at` (shifted unix ns) is set once a run is closed and its parent
  is not open: its `ended_at`, or its parent's when the parent closed later.
  A closed child of an open parent keeps `freed_at` NULL until the transaction
  that closes the parent frees it (`closed`). The partial index `runs_expiry`
  (workflow_type, freed_at, ...) orders them by type, then by when they were
  freed, so each type's earliest run is one index probe away;
- a deletion's first transaction deletes the run's `runs` row and timers and
  (when its events do not all fit the transaction) writes a `doomed` row: from
  then on the run is invisible (reads are bounded by the head in `runs`). The
  following transactions delete its events `CHUNK` at a time, the last one the
  `doomed` row; a store opened writable finishes the deletions a killed process
  left (`doomed_runs`). Short runs share one transaction, `CHUNK` events in all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from aion_actors.core import faults
from aion_actors.store import _projection as proj
from aion_actors.store.postgres._index import shifted, summaries
from aion_actors.store.postgres._schema import OPEN_SQL, TIME_SHIFT
from aion_actors.store.protocol import RetentionOf, RunSummary

#: events deleted per write transaction, so the recorder never waits long for the store
CHUNK: Final = 256
_T = TypeVar("_T")
_Run = tuple[str, str]
#: runs `work(conn)` in one write transaction of the store (under its write lock)
Write = Callable[[Callable[[Any], _T]], _T]

# -- filing closed runs (inside the group commit's transaction)


def closed(conn: Any, s: str, runs: dict[_Run, proj.Summary]) -> None:
    """Runs closed by this transaction (their `runs` rows written): file those with a
    parent, and free the closed children that waited for any of them."""
    children = [
        (*run, link["workflow_id"], link["run_id"])
        for run, summary in runs.items()
        if isinstance(link := summary.get("parent"), dict)
        and isinstance(link.get("workflow_id"), str)
        and isinstance(link.get("run_id"), str)
    ]
    if children:
        conn.execute(
            f"""UPDATE {s}.runs c SET freed_at = CASE WHEN p.status IN {OPEN_SQL} THEN NULL
                ELSE greatest(c.ended_at, p.ended_at) END
            FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) AS k(w, r, pw, pr)
            LEFT JOIN {s}.runs p ON p.workflow_id = k.pw AND p.run_id = k.pr
            WHERE c.workflow_id = k.w AND c.run_id = k.r""",
            tuple(list(column) for column in zip(*children, strict=True)),
            binary=True,
        )
    conn.execute(
        f"""UPDATE {s}.runs c SET freed_at = greatest(c.ended_at, p.ended_at)
        FROM unnest(%s::text[], %s::text[]) AS k(w, r)
        JOIN {s}.runs p ON p.workflow_id = k.w AND p.run_id = k.r
        WHERE c.parent_workflow_id = k.w AND c.parent_run_id = k.r
        AND c.ended_at IS NOT NULL AND c.freed_at IS NULL""",
        ([w for w, _ in runs], [r for _, r in runs]),
        binary=True,
    )


# -- reading


def _types(conn: Any, s: str) -> list[tuple[str, int]]:
    """Each workflow type with a freed run, and its earliest `freed_at` (unix ns): a
    skip scan of `runs_expiry`, one probe per type."""
    rows = conn.execute(
        f"""WITH RECURSIVE t(workflow_type) AS (
            (SELECT workflow_type FROM {s}.runs WHERE freed_at IS NOT NULL
             ORDER BY workflow_type LIMIT 1)
            UNION ALL
            SELECT (SELECT r.workflow_type FROM {s}.runs r WHERE r.freed_at IS NOT NULL
                    AND r.workflow_type > t.workflow_type ORDER BY r.workflow_type LIMIT 1)
            FROM t WHERE t.workflow_type IS NOT NULL)
        SELECT t.workflow_type, (SELECT r.freed_at FROM {s}.runs r WHERE r.freed_at IS NOT NULL
            AND r.workflow_type = t.workflow_type ORDER BY r.freed_at LIMIT 1)
        FROM t WHERE t.workflow_type IS NOT NULL"""
    ).fetchall()
    return [(name, freed + TIME_SHIFT) for name, freed in rows]


def next_expiry(conn: Any, s: str, retention_of: RetentionOf) -> int | None:
    times = []
    for name, freed_at in _types(conn, s):
        retention = retention_of(name)
        if retention is not None:
            times.append(freed_at + retention)
    return min(times, default=None)


def expired(
    conn: Any, s: str, as_of: int, retention_of: RetentionOf, limit: int | None
) -> list[RunSummary]:
    retentions: dict[str, int] = {}
    for name, freed_at in _types(conn, s):
        retention = retention_of(name)
        if retention is not None and freed_at + retention <= as_of:
            retentions[name] = retention
    if not retentions or limit == 0:
        return []
    names = list(retentions)
    rows = conn.execute(
        f"""SELECT r.workflow_id, r.run_id, r.freed_at, k.t, r.summary
        FROM unnest(%s::text[], %s::int8[]) AS k(t, cutoff)
        CROSS JOIN LATERAL (SELECT workflow_id, run_id, freed_at, summary FROM {s}.runs
            WHERE workflow_type = k.t AND freed_at IS NOT NULL AND freed_at <= k.cutoff
            ORDER BY freed_at, workflow_id, run_id LIMIT %s) r""",
        (names, [shifted(as_of - retentions[name]) for name in names], limit),
        binary=True,
    ).fetchall()
    due = sorted(
        (freed + TIME_SHIFT + retentions[name], workflow_id, run_id, data)
        for workflow_id, run_id, freed, name, data in rows
    )[:limit]
    return summaries([(workflow_id, run_id, data) for _, workflow_id, run_id, data in due])


def doomed_runs(conn: Any, s: str) -> list[_Run]:
    """Runs whose deletion has started and not finished."""
    rows = conn.execute(f"SELECT workflow_id, run_id FROM {s}.doomed").fetchall()
    return [(w, r) for w, r in rows]


# -- deleting


@dataclass(frozen=True)
class _Step:
    """One transaction's work: where the next one goes on, which runs it deleted (by
    position) and the run it left unfinished."""

    next_index: int
    hidden: list[int]
    unfinished: _Run | None


def _delete_events(conn: Any, s: str, run: _Run, budget: int) -> int:
    """Delete the first `budget` events of a hidden run; how many went."""
    return int(
        conn.execute(
            f"""DELETE FROM {s}.events WHERE workflow_id = %s AND run_id = %s AND seq IN
            (SELECT seq FROM {s}.events WHERE workflow_id = %s AND run_id = %s
             ORDER BY seq LIMIT %s)""",
            (*run, *run, budget),
        ).rowcount
    )


def _step(conn: Any, s: str, runs: list[_Run], first: int) -> _Step:
    """Hide and delete runs from `first` on while `CHUNK` events last (see the module)."""
    ahead = runs[first : first + CHUNK]  # each costs at least 1 of the budget
    rows = conn.execute(
        f"""SELECT r.workflow_id, r.run_id, r.head, r.partition FROM {s}.runs r
        JOIN unnest(%s::text[], %s::text[]) AS k(w, i) ON r.workflow_id = k.w AND r.run_id = k.i
        WHERE r.freed_at IS NOT NULL FOR UPDATE OF r""",
        ([w for w, _ in ahead], [r for _, r in ahead]),
        binary=True,
    ).fetchall()
    deletable = {(w, r): (int(head), int(partition)) for w, r, head, partition in rows}
    budget, index, hidden, whole = CHUNK, first, [], []
    unfinished: tuple[_Run, int, int] | None = None
    while index < first + len(ahead) and budget > 0 and unfinished is None:
        run = runs[index]
        index += 1
        if run not in deletable:
            continue
        head, partition = deletable.pop(run)  # (a run named twice goes once)
        hidden.append(index - 1)
        if head > budget:
            unfinished = (run, partition, budget)
        else:
            whole.append(run)
        budget -= max(head, 1)
    gone = whole + ([unfinished[0]] if unfinished else [])
    if gone:
        keys = ([w for w, _ in gone], [r for _, r in gone])
        for table in ("runs", "timers"):
            conn.execute(
                f"""DELETE FROM {s}.{table} t USING unnest(%s::text[], %s::text[]) AS k(w, r)
                WHERE t.workflow_id = k.w AND t.run_id = k.r""",
                keys,
                binary=True,
            )
    if whole:
        conn.execute(
            f"""DELETE FROM {s}.events e USING unnest(%s::text[], %s::text[]) AS k(w, r)
            WHERE e.workflow_id = k.w AND e.run_id = k.r""",
            ([w for w, _ in whole], [r for _, r in whole]),
            binary=True,
        )
    if unfinished is None:
        return _Step(index, hidden, None)
    run, partition, left = unfinished
    conn.execute(f"INSERT INTO {s}.doomed VALUES (%s, %s, %s)", (*run, partition))
    _delete_events(conn, s, run, left)
    return _Step(index, hidden, run)


def delete_runs(write: Write[Any], s: str, runs: list[_Run]) -> list[bool]:
    """Delete closed runs whose parent is not open, whole: as many per write transaction
    as fit in `CHUNK` events, a longer one over transactions of its own. Per run, whether
    it was deleted."""
    for run in write(lambda conn: doomed_runs(conn, s)):  # (one whose commit answer was lost)
        finish(write, s, run)
    deleted = [False] * len(runs)
    start = 0
    while start < len(runs):

        def one(conn: Any, first: int = start) -> _Step:
            return _step(conn, s, runs, first)

        step: _Step = write(one)
        for index in step.hidden:
            deleted[index] = True
        start = step.next_index
        if step.unfinished is not None:
            finish(write, s, step.unfinished)
    return deleted


def _finish_some(conn: Any, s: str, run: _Run) -> bool:
    """Delete up to `CHUNK` events of a hidden run; True when none is left (its
    `doomed` row goes too)."""
    if _delete_events(conn, s, run, CHUNK) == CHUNK:
        return False
    conn.execute(f"DELETE FROM {s}.doomed WHERE workflow_id = %s AND run_id = %s", run)
    return True


def finish(write: Write[Any], s: str, run: _Run) -> None:
    """Delete the rest of the events of hidden `run`, a transaction per `CHUNK`."""
    done = False
    while not done:
        if faults.ARMED:
            faults.hit("prune.middle")  # the run is invisible, some of its events remain
        done = write(lambda conn: _finish_some(conn, s, run))
