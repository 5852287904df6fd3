"""What a node reads of the partitions it owns: their open runs and their timers.

A node recovers, and fires the timers of, only the runs of partitions it
holds; everything else a store answers (histories, the run index, search)
stays global, so reads work from any node.
"""

from __future__ import annotations

from typing import Any

from aion_actors.store import _projection as proj
from aion_actors.store.postgres._index import summaries
from aion_actors.store.postgres._schema import OPEN_SQL, TIME_SHIFT
from aion_actors.store.protocol import DueTimer, RunSummary

_FAR = (1 << 63) - 1


def open_runs(conn: Any, s: str, partitions: list[int]) -> list[RunSummary]:
    rows = conn.execute(
        f"""SELECT workflow_id, run_id, summary FROM {s}.runs
        WHERE status IN {OPEN_SQL} AND partition = ANY(%s)
        ORDER BY workflow_id, run_id""",
        (partitions,),
    ).fetchall()
    return summaries(rows)


def due(conn: Any, s: str, as_of: int, limit: int | None, partitions: list[int]) -> list[DueTimer]:
    rows = conn.execute(
        f"""SELECT workflow_id, run_id, timer_id, fire_at FROM {s}.timers
        WHERE fire_at <= %s AND partition = ANY(%s)
        ORDER BY fire_at, workflow_id, run_id, timer_id LIMIT %s""",
        (max(0, min(as_of, proj.MAX_TIME)) - TIME_SHIFT, partitions, limit),
    ).fetchall()
    return [DueTimer(w, r, t, at + TIME_SHIFT) for w, r, t, at in rows]
