"""Reading histories on Postgres: a range of one run's events, or many runs' whole
histories in one query (`read_many`, for `store.bulk`: recovery, `copy_store`).

Both are bounded by the head in the run index, so a run being deleted reads as [].
Each event is decoded and checked against its place; a run whose event does not
decode, or whose events stop short of its head, costs only itself (`CorruptEvent`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aion_actors.core import AionError, CorruptEvent, Event, decode_event
from aion_actors.store.postgres import _arrays

_Run = tuple[str, str]


def read(conn: Any, s: str, run: _Run, start: int, until: int | None) -> list[Event]:
    """The events of `run` from seq `start` to `until` (its head when None or past it)."""
    workflow_id, run_id = run
    last = until if until is not None else (1 << 62)
    with conn.cursor(binary=True) as cursor:
        cursor.execute(
            f"""SELECT seq, data FROM {s}.events WHERE workflow_id = %s
            AND run_id = %s AND seq >= %s AND seq <= %s AND seq <= (SELECT head
            FROM {s}.runs WHERE workflow_id = %s AND run_id = %s) ORDER BY seq""",
            (workflow_id, run_id, max(start, 1), last, workflow_id, run_id),
        )
        rows: list[tuple[int, bytes]] = cursor.fetchall()
    return [
        decode_event(bytes(data), workflow_id=workflow_id, run_id=run_id, seq=seq)
        for seq, data in rows
    ]


def read_many(conn: Any, s: str, runs: Sequence[_Run]) -> list[list[Event] | AionError]:
    """The whole history of each of `runs` (or why it could not be read), in one query."""
    rows = conn.execute(
        f"""SELECT e.workflow_id, e.run_id, e.seq, e.data, r.head
        FROM unnest(%s::text[], %s::text[]) AS k(w, i)
        JOIN {s}.runs r ON r.workflow_id = k.w AND r.run_id = k.i
        JOIN {s}.events e ON e.workflow_id = k.w AND e.run_id = k.i AND e.seq <= r.head
        ORDER BY e.workflow_id, e.run_id, e.seq""",
        (_arrays.text([w for w, _ in runs]), _arrays.text([r for _, r in runs])),
        binary=True,
    ).fetchall()
    found: dict[_Run, list[tuple[int, bytes]]] = {}
    heads: dict[_Run, int] = {}
    for workflow_id, run_id, seq, data, head in rows:
        found.setdefault((workflow_id, run_id), []).append((seq, bytes(data)))
        heads[(workflow_id, run_id)] = head
    return [_decoded(run, found.get(run, []), heads.get(run, 0)) for run in runs]


def _decoded(run: _Run, stored: list[tuple[int, bytes]], head: int) -> list[Event] | AionError:
    workflow_id, run_id = run
    try:
        events = [
            decode_event(data, workflow_id=workflow_id, run_id=run_id, seq=seq)
            for seq, data in stored
        ]
    except AionError as exc:
        return exc
    if [event.seq for event in events] != list(range(1, head + 1)):
        return CorruptEvent(
            f"missing from the store, though the run index says the head is {head}",
            workflow_id=workflow_id,
            run_id=run_id,
            seq=next((i for i, e in enumerate(events, 1) if e.seq != i), len(events) + 1),
        )
    return events
