"""The run index on Postgres: written by each group commit, read by `get_run`, `runs`,
`open_runs` and `latest_run`. Filters on the index belong here.

Ids are `COLLATE "C"`, so `ORDER BY workflow_id, run_id` is the byte order
every store lists runs in.
"""

from __future__ import annotations

import logging
from typing import Any

from aion_actors.core import CorruptEvent, WorkflowStatus, unpackb
from aion_actors.core.codec import packb
from aion_actors.store import _projection as proj
from aion_actors.store.postgres import _arrays
from aion_actors.store.postgres._schema import OPEN_SQL, TIME_SHIFT, partition_of
from aion_actors.store.protocol import RunSummary

log = logging.getLogger(__name__)

_COLUMNS = "workflow_id, run_id, summary"


def shifted(at: int) -> int:
    """Unix ns (clamped as every store clamps a stamped time) as the stored bigint."""
    return min(max(at, 0), proj.MAX_TIME) - TIME_SHIFT


def _parent(summary: proj.Summary) -> tuple[str | None, str | None]:
    link = summary.get("parent")
    if not isinstance(link, dict):
        return None, None
    workflow_id, run_id = link.get("workflow_id"), link.get("run_id")
    if not isinstance(workflow_id, str) or not isinstance(run_id, str):
        return None, None  # a malformed link refers to nothing
    return workflow_id, run_id


def upsert(
    s: str, partitions: int, touched: dict[tuple[str, str], proj.Summary]
) -> tuple[str, tuple[Any, ...]]:
    """The statement (and its parameters) writing the summaries a batch changed (insert
    new runs, update the others), for the group commit to send.

    A closed run without a parent is freed (its retention starts) at its end
    here; one with a parent is filed by `_prune.closed` once every row is written."""
    rows = []
    for (workflow_id, run_id), summary in touched.items():
        ended = summary["ended_at"]
        ended_at = None if ended is None or summary["status"] in proj.OPEN else shifted(ended)
        parent_workflow_id, parent_run_id = _parent(summary)
        rows.append(
            (
                workflow_id,
                run_id,
                partition_of(workflow_id, partitions),
                summary["workflow_type"],
                summary["status"],
                shifted(summary["started_at"]),
                summary["head"],
                packb(summary),
                ended_at,
                parent_workflow_id,
                parent_run_id,
                ended_at if parent_workflow_id is None else None,
            )
        )
    (w, r, partition, kind, status, started, head, data, ends, pw, pr, freed) = zip(
        *rows, strict=True
    )
    text, int8 = _arrays.text, _arrays.int8
    return (
        f"""INSERT INTO {s}.runs (workflow_id, run_id, partition, workflow_type, status,
            started_at, head, summary, ended_at, parent_workflow_id, parent_run_id, freed_at)
        SELECT * FROM unnest(%s::text[], %s::text[], %s::int[], %s::text[], %s::text[],
            %s::int8[], %s::int8[], %s::bytea[], %s::int8[], %s::text[], %s::text[], %s::int8[])
        ON CONFLICT (workflow_id, run_id) DO UPDATE SET workflow_type = excluded.workflow_type,
            status = excluded.status, started_at = excluded.started_at, head = excluded.head,
            summary = excluded.summary, ended_at = excluded.ended_at,
            parent_workflow_id = excluded.parent_workflow_id,
            parent_run_id = excluded.parent_run_id, freed_at = excluded.freed_at""",
        (
            *(text(w), text(r), _arrays.int4(partition), text(kind), text(status)),
            *(int8(started), int8(head), _arrays.bytea(data), int8(ends)),
            *(text(pw), text(pr), int8(freed)),
        ),
    )


def summaries(rows: list[tuple[str, str, bytes]]) -> list[RunSummary]:
    """Decoded summaries; an entry that does not decode is logged and left out."""
    found = []
    for workflow_id, run_id, data in rows:
        try:
            found.append(proj.to_summary(unpackb(bytes(data)), workflow_id, run_id))
        except Exception as exc:
            log.error("run index entry of %s/%s is damaged, left out: %s", workflow_id, run_id, exc)
    return found


def get_run(conn: Any, s: str, workflow_id: str, run_id: str) -> RunSummary | None:
    row = conn.execute(
        f"SELECT summary FROM {s}.runs WHERE workflow_id = %s AND run_id = %s",
        (workflow_id, run_id),
    ).fetchone()
    if row is None:
        return None
    try:
        record = unpackb(bytes(row[0]))
    except Exception as exc:
        raise CorruptEvent(
            f"run index entry is damaged ({exc})", workflow_id=workflow_id, run_id=run_id
        ) from None
    return proj.to_summary(record, workflow_id, run_id)


def head(conn: Any, s: str, workflow_id: str, run_id: str) -> int:
    row = conn.execute(
        f"SELECT head FROM {s}.runs WHERE workflow_id = %s AND run_id = %s",
        (workflow_id, run_id),
    ).fetchone()
    return int(row[0]) if row else 0


def runs(
    conn: Any, s: str, status: WorkflowStatus | None, workflow_type: str | None
) -> list[RunSummary]:
    where, params = [], []
    if status is not None:
        where.append("status = %s")
        params.append(WorkflowStatus(status).value)
    if workflow_type is not None:
        where.append("workflow_type = %s")
        params.append(workflow_type)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM {s}.runs {clause} ORDER BY workflow_id, run_id", params
    ).fetchall()
    return summaries(rows)


def open_runs(conn: Any, s: str) -> list[RunSummary]:
    rows = conn.execute(
        f"""SELECT {_COLUMNS} FROM {s}.runs WHERE status IN {OPEN_SQL}
        ORDER BY workflow_id, run_id"""
    ).fetchall()
    return summaries(rows)


def latest_run(conn: Any, s: str, workflow_id: str) -> RunSummary | None:
    rows = conn.execute(
        f"""SELECT {_COLUMNS} FROM {s}.runs WHERE workflow_id = %s
        ORDER BY started_at DESC, run_id DESC""",
        (workflow_id,),
    ).fetchall()
    found = summaries(rows)
    return found[0] if found else None
