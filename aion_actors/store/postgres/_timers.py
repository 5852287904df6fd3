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
    """The net effect of one batch's timer operations, applied after its events."""

    def __init__(self) -> None:
        self.cleared: dict[_Run, int] = {}  # runs whose every timer goes (partition kept)
        self.final: dict[tuple[str, str, str], tuple[int, int | None]] = {}

    def add(self, run: _Run, partition: int, ops: list[proj.TimerOp]) -> None:
        for op, timer_id, fire_at in ops:
            if op == proj.CANCEL_ALL:
                self.cleared[run] = partition
                for key in [key for key in self.final if key[:2] == run]:
                    del self.final[key]
            else:
                at = fire_at if op == proj.SCHEDULE else None
                self.final[(*run, timer_id)] = (partition, at)

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
            )
        gone = [key for key, (_, at) in self.final.items() if at is None]
        if gone:
            conn.execute(
                f"""DELETE FROM {s}.timers t
                USING unnest(%s::text[], %s::text[], %s::text[]) AS k(w, r, i)
                WHERE t.workflow_id = k.w AND t.run_id = k.r AND t.timer_id = k.i""",
                tuple(list(column) for column in zip(*gone, strict=True)),
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
