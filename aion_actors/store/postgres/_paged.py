"""What `copy_store` asks of a PostgreSQL store besides `EventStore` (`Copyable`): the
mark of an unfinished copy (`_copying`), and reads a page at a time — runs and timers in
id order after a cursor (ids are `COLLATE "C"`: byte order, a range of each primary key),
and which of some runs are freed for retention (`freed_at` set).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from aion_actors.store import _projection as proj
from aion_actors.store.postgres._connect import Target
from aion_actors.store.postgres._copying import KEY, pending_calls, set_meta, started
from aion_actors.store.postgres._index import summaries
from aion_actors.store.postgres._schema import TIME_SHIFT
from aion_actors.store.protocol import DueTimer, RunSummary

_T = TypeVar("_T")
_Run = tuple[str, str]


class _Store(Protocol):
    target: Target

    def _read(self, work: Callable[[Any, str], _T]) -> _T: ...

    def _write(self, work: Callable[[Any], None], workflow_id: str | None = None) -> None: ...


class Copying:
    """What `copy_store` asks of a PostgreSQL store besides `EventStore` (`Copyable`)."""

    def copy_started(self: _Store) -> int | None:
        """When the unfinished `copy_store` filling this store began (unix ns), or None."""
        return self._read(started)

    def mark_copy(self: _Store, since: int | None) -> None:
        """Mark the store as `copy_store` filling it since `since` (None: it finished)."""
        self._write(lambda conn: set_meta(conn, self.target.schema, KEY, since))

    def pending_calls(self: _Store) -> int:
        """Calls between nodes recorded here and not yet applied (`_requests`)."""
        return self._read(pending_calls)

    def runs_after(self: _Store, after: _Run | None, limit: int) -> list[RunSummary]:
        """At most `limit` runs in (workflow_id, run_id) order, from after `after`."""
        return self._read(lambda conn, s: runs_after(conn, s, after, limit))

    def timers_after(
        self: _Store, after: tuple[str, str, str] | None, limit: int
    ) -> list[DueTimer]:
        """At most `limit` timers in (workflow_id, run_id, timer_id) order, from after `after`."""
        return self._read(lambda conn, s: timers_after(conn, s, after, limit))

    def freed_among(self: _Store, runs: Sequence[_Run]) -> list[bool]:
        """Per run, whether it is closed and freed for retention (its parent is not open)."""
        return self._read(lambda conn, s: freed_among(conn, s, runs))


def runs_after(conn: Any, s: str, after: _Run | None, limit: int) -> list[RunSummary]:
    rows = conn.execute(
        f"""SELECT workflow_id, run_id, summary FROM {s}.runs
        WHERE (workflow_id, run_id) > (%s, %s) ORDER BY workflow_id, run_id LIMIT %s""",
        (*(after or ("", "")), limit),
    ).fetchall()
    return summaries(rows)


def timers_after(
    conn: Any, s: str, after: tuple[str, str, str] | None, limit: int
) -> list[DueTimer]:
    rows = conn.execute(
        f"""SELECT workflow_id, run_id, timer_id, fire_at FROM {s}.timers
        WHERE (workflow_id, run_id, timer_id) > (%s, %s, %s)
        ORDER BY workflow_id, run_id, timer_id LIMIT %s""",
        (*(after or ("", "", "")), limit),
    ).fetchall()
    return [DueTimer(w, r, t, at + TIME_SHIFT) for w, r, t, at in rows]


def freed_among(conn: Any, s: str, runs: Sequence[_Run]) -> list[bool]:
    for run in runs:
        proj.run_key(*run)
    rows = conn.execute(
        f"""SELECT r.workflow_id, r.run_id FROM {s}.runs r
        JOIN unnest(%s::text[], %s::text[]) AS k(w, r)
        ON r.workflow_id = k.w AND r.run_id = k.r WHERE r.freed_at IS NOT NULL""",
        ([w for w, _ in runs], [r for _, r in runs]),
    ).fetchall()
    freed = {(w, r) for w, r in rows}
    return [run in freed for run in runs]
