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
from aion_actors.store.postgres._schema import partition_of
from aion_actors.store.protocol import RunSummary

log = logging.getLogger(__name__)

_COLUMNS = "workflow_id, run_id, summary"
_OPEN = tuple(sorted(proj.OPEN))


def upsert(
    conn: Any, s: str, partitions: int, touched: dict[tuple[str, str], proj.Summary]
) -> None:
    """Write the summaries a batch changed (insert new runs, update the others)."""
    columns: list[list[Any]] = [[] for _ in range(8)]
    for (workflow_id, run_id), summary in touched.items():
        values = (
            workflow_id,
            run_id,
            partition_of(workflow_id, partitions),
            summary["workflow_type"],
            summary["status"],
            summary["started_at"],
            summary["head"],
            packb(summary),
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    conn.execute(
        f"""INSERT INTO {s}.runs (workflow_id, run_id, partition, workflow_type, status,
            started_at, head, summary)
        SELECT * FROM unnest(%s::text[], %s::text[], %s::int[], %s::text[], %s::text[],
            %s::int8[], %s::int8[], %s::bytea[])
        ON CONFLICT (workflow_id, run_id) DO UPDATE SET workflow_type = excluded.workflow_type,
            status = excluded.status, started_at = excluded.started_at, head = excluded.head,
            summary = excluded.summary""",
        tuple(columns),
        binary=True,  # binary arrays: no per-element quoting
    )


def _summaries(rows: list[tuple[str, str, bytes]]) -> list[RunSummary]:
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
    return _summaries(rows)


def open_runs(conn: Any, s: str) -> list[RunSummary]:
    rows = conn.execute(
        f"""SELECT {_COLUMNS} FROM {s}.runs WHERE status IN ('running', 'parked')
        ORDER BY workflow_id, run_id"""
    ).fetchall()
    return _summaries(rows)


def latest_run(conn: Any, s: str, workflow_id: str) -> RunSummary | None:
    rows = conn.execute(
        f"""SELECT {_COLUMNS} FROM {s}.runs WHERE workflow_id = %s
        ORDER BY started_at DESC, run_id DESC""",
        (workflow_id,),
    ).fetchall()
    found = _summaries(rows)
    return found[0] if found else None
