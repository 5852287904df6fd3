"""What a node reads of the partitions it owns: their open runs and their timers.

A node recovers, and fires the timers of, only the runs of partitions it
holds; everything else a store answers (histories, the run index, search)
stays global, so reads work from any node.
"""

from __future__ import annotations

import logging
from typing import Any

from aion_actors.core import unpackb
from aion_actors.store import _projection as proj
from aion_actors.store.postgres._schema import TIME_SHIFT
from aion_actors.store.protocol import DueTimer, RunSummary

log = logging.getLogger(__name__)
_FAR = (1 << 63) - 1


def open_runs(conn: Any, s: str, partitions: list[int]) -> list[RunSummary]:
    rows = conn.execute(
        f"""SELECT workflow_id, run_id, summary FROM {s}.runs
        WHERE status IN ('running', 'parked') AND partition = ANY(%s)
        ORDER BY workflow_id, run_id""",
        (partitions,),
    ).fetchall()
    found = []
    for workflow_id, run_id, data in rows:
        try:
            found.append(proj.to_summary(unpackb(bytes(data)), workflow_id, run_id))
        except Exception as exc:
            log.error("run index entry of %s/%s is damaged, left out: %s", workflow_id, run_id, exc)
    return found


def due(conn: Any, s: str, as_of: int, limit: int | None, partitions: list[int]) -> list[DueTimer]:
    rows = conn.execute(
        f"""SELECT workflow_id, run_id, timer_id, fire_at FROM {s}.timers
        WHERE fire_at <= %s AND partition = ANY(%s)
        ORDER BY fire_at, workflow_id, run_id, timer_id LIMIT %s""",
        (max(0, min(as_of, proj.MAX_TIME)) - TIME_SHIFT, partitions, limit),
    ).fetchall()
    return [DueTimer(w, r, t, at + TIME_SHIFT) for w, r, t, at in rows]
