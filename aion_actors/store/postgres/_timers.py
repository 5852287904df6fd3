"""Durable timers on Postgres: the projection's timer changes as a few set-wise statements,
the due-timer index, and `NOTIFY` so another process learns of a new timer at once."""

from __future__ import annotations

from typing import Any

from aion_actors.store import _projection as proj
from aion_actors.store.postgres._schema import TIME_SHIFT
from aion_actors.store.protocol import DueTimer

_Run = tuple[str, str]


def channel(schema: str) -> str:
    """The `LISTEN` channel a store's new timers are announced on (payload: fire_at ns)."""
    return f"aion_timers_{schema}"


class TimerChanges:
    """The net effect of one batch's timer operations, applied after its events.

    `armed` is what the store knows for sure of some runs' timers (runs it
    created; one writer per store): for those, cancelling a timer that is not
    armed costs no statement. `after` is that knowledge once the batch commits
    (None: forget the run)."""

    def __init__(self, armed: dict[_Run, set[str]]) -> None:
        self._armed = armed
        self.after: dict[_Run, set[str] | None] = {}
        self.cleared: dict[_Run, int] = {}  # runs whose every timer goes (partition kept)
        self.final: dict[tuple[str, str, str], tuple[int, int | None]] = {}

    def _known(self, run: _Run, new_run: bool) -> set[str] | None:
        if run in self.after:
            return self.after[run]
        if run in self._armed:
            return set(self._armed[run])
        return set() if new_run else None

    def add(
        self, run: _Run, partition: int, ops: list[proj.TimerOp], *, new_run: bool, ended: bool
    ) -> None:
        known = self._known(run, new_run)
        for op, timer_id, fire_at in ops:
            key = (*run, timer_id)
            if op == proj.CANCEL_ALL:
                if known is None or known:
                    self.cleared[run] = partition
                for pending in [k for k in self.final if k[:2] == run]:
                    del self.final[pending]
                known = None if known is None else set()
            elif op == proj.SCHEDULE:
                self.final[key] = (partition, fire_at)
                if known is not None:
                    known.add(timer_id)
            elif known is None or timer_id in known:
                self.final[key] = (partition, None)
                if known is not None:
                    known.discard(timer_id)
        self.after[run] = None if ended else known

    def committed(self) -> None:
        """The batch is durable: what it armed is now known."""
        for run, known in self.after.items():
            if known is None:
                self._armed.pop(run, None)
            else:
                self._armed[run] = known

    def earliest(self) -> int | None:
        """The earliest timer this batch schedules, to announce."""
        return min((at for _, at in self.final.values() if at is not None), default=None)

    def apply(self, conn: Any, s: str) -> None:
        if self.cleared:
            runs = list(self.cleared)
            conn.execute(
                f"""DELETE FROM {s}.timers t USING unnest(%s::text[], %s::text[]) AS k(w, r)
                WHERE t.workflow_id = k.w AND t.run_id = k.r""",
                ([w for w, _ in runs], [r for _, r in runs]),
                binary=True,  # binary arrays: no per-element quoting
            )
        gone = [key for key, (_, at) in self.final.items() if at is None]
        if gone:
            conn.execute(
                f"""DELETE FROM {s}.timers t
                USING unnest(%s::text[], %s::text[], %s::text[]) AS k(w, r, i)
                WHERE t.workflow_id = k.w AND t.run_id = k.r AND t.timer_id = k.i""",
                tuple(list(column) for column in zip(*gone, strict=True)),
                binary=True,
            )
        armed = [
            (*key, p, at - TIME_SHIFT) for key, (p, at) in self.final.items() if at is not None
        ]
        if armed:
            upsert(conn, s, armed)


def upsert(conn: Any, s: str, rows: list[tuple[str, str, str, int, int]]) -> None:
    """Arm (or move) timers: rows of (workflow_id, run_id, timer_id, partition, shifted fire_at)."""
    conn.execute(
        f"""INSERT INTO {s}.timers
        SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::int[], %s::int8[])
        ON CONFLICT (workflow_id, run_id, timer_id) DO UPDATE SET fire_at = excluded.fire_at""",
        tuple(list(column) for column in zip(*rows, strict=True)),
        binary=True,
    )


def cancel(conn: Any, s: str, workflow_id: str, run_id: str, timer_id: str) -> None:
    conn.execute(
        f"DELETE FROM {s}.timers WHERE workflow_id = %s AND run_id = %s AND timer_id = %s",
        (workflow_id, run_id, timer_id),
    )


def notify(conn: Any, s: str, fire_at: int) -> None:
    """Announce a new timer; delivered to listeners when the transaction commits."""
    conn.execute("SELECT pg_notify(%s, %s)", (channel(s), str(fire_at)))


def due(conn: Any, s: str, as_of: int, limit: int | None) -> list[DueTimer]:
    rows = conn.execute(
        f"""SELECT workflow_id, run_id, timer_id, fire_at FROM {s}.timers
        WHERE fire_at <= %s ORDER BY fire_at, workflow_id, run_id, timer_id LIMIT %s""",
        (max(0, min(as_of, proj.MAX_TIME)) - TIME_SHIFT, limit),
    ).fetchall()
    return [DueTimer(w, r, t, at + TIME_SHIFT) for w, r, t, at in rows]


def first(conn: Any, s: str) -> DueTimer | None:
    row = conn.execute(
        f"""SELECT workflow_id, run_id, timer_id, fire_at FROM {s}.timers
        ORDER BY fire_at, workflow_id, run_id, timer_id LIMIT 1"""
    ).fetchone()
    return DueTimer(row[0], row[1], row[2], row[3] + TIME_SHIFT) if row else None
