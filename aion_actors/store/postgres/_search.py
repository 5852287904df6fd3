"""Run search on Postgres (`EventStore.search`), by the rules of `store/_search.py`.

Status, workflow type and start time are columns of `runs`, indexed in search
order (`started_at DESC, workflow_id, run_id`, `started_at` shifted as
`_schema` says). Search attributes and the parent link live in a side table
(created by `_schema`) written by `update` in the group commit's transaction:

- `search_terms (workflow_id, run_id, term)`: one row per filter value a run is
  listed under: `A` + an attribute name and a value token (`core/attributes.py`
  `tokens`: a list attribute gets a row per item; `1`, `1.0` and `True` differ),
  `P` + the parent's workflow_id, each as a kind byte and a 16-byte BLAKE2b of
  the value (as in `_lmdb_search`), so a long value never exceeds a btree row.
  Its rows go with their `runs` row (`ON DELETE CASCADE`).

`search` asks SQL for the runs in search order from the cursor on, filtered
by every column and term the query names (and, for `closed_after`, by a
closed status), a page (plus one) at a time; every run is then checked by
`_search.matches` (which also compares `ended_at` and a parent's run_id), so
the page is exactly the one every store returns. The planner picks the
index: a rare term is read by `search_terms_by_term` and sorted, a common
one by walking `runs` in search order and probing each run's terms.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from typing import Any, Final

from aion_actors.core import WorkflowStatus, unpackb
from aion_actors.core.attributes import tokens
from aion_actors.store import _projection as proj
from aion_actors.store import _search
from aion_actors.store.postgres import _arrays
from aion_actors.store.postgres._index import shifted
from aion_actors.store.protocol import RunSummary

log = logging.getLogger(__name__)

_Run = tuple[str, str]
_CLOSED: Final = [status.value for status in WorkflowStatus if status.is_terminal]
#: how many rows one read fetches when the filters SQL cannot apply reject many
_MAX_CHUNK: Final = 1000


def _term(kind: bytes, value: bytes) -> bytes:
    return kind + hashlib.blake2b(value, digest_size=16).digest()


def _text(value: str) -> bytes:
    return value.encode(errors="surrogatepass")


def terms(summary: proj.Summary | None) -> set[bytes]:
    """Every term a run is listed under (none for None)."""
    found: set[bytes] = set()
    if summary is None:
        return found
    parent = summary.get("parent")
    if isinstance(parent, dict) and isinstance(parent.get("workflow_id"), str):
        found.add(_term(b"P", _text(parent["workflow_id"])))
    attributes = summary.get("attributes")
    if isinstance(attributes, dict):
        for name, value in attributes.items():
            for token in tokens(value):
                found.add(_term(b"A", _text(str(name)) + b"\0" + token))
    return found


def wanted(query: _search.RunQuery) -> list[bytes]:
    """The terms a run must be listed under to match `query`."""
    found = [_term(b"P", _text(query.parent))] if query.parent is not None else []
    found.extend(_term(b"A", _text(name) + b"\0" + token) for name, token in query.attributes)
    return found


#: what a run's terms follow from: its summary's parent link and attributes (the very
#: objects: folding replaces them rather than change them), or None for no run yet
Listed = tuple[object, object] | None


def listed(summary: proj.Summary | None) -> Listed:
    """What `summary` is listed under, to tell after folding whether that changed."""
    return None if summary is None else (summary.get("parent"), summary.get("attributes"))


def _terms_of(before: Listed) -> set[bytes]:
    return set() if before is None else terms({"parent": before[0], "attributes": before[1]})


def update(
    conn: Any, s: str, before: dict[_Run, Listed], touched: dict[_Run, proj.Summary]
) -> None:
    """Bring the terms of the runs a batch changed from what they were listed under
    `before` it to what the `touched` summaries list (in the batch's transaction, after
    the run index upsert); no statement when no parent or attribute changed."""
    gone: list[tuple[str, str, bytes]] = []
    added: list[tuple[str, str, bytes]] = []
    for run, summary in touched.items():
        old = before.get(run)
        if (
            old is not None
            and old[0] is summary.get("parent")
            and old[1] is summary.get("attributes")
        ):
            continue  # (the common append: nothing it is listed under changed)
        new = terms(summary)
        was = _terms_of(old)
        gone.extend((*run, term) for term in was - new)
        added.extend((*run, term) for term in new - was)
    if gone:
        w, r, t = zip(*gone, strict=True)
        conn.execute(
            f"""DELETE FROM {s}.search_terms t
            USING unnest(%s::text[], %s::text[], %s::bytea[]) AS k(w, r, term)
            WHERE t.workflow_id = k.w AND t.run_id = k.r AND t.term = k.term""",
            (_arrays.text(w), _arrays.text(r), _arrays.bytea(t)),
            binary=True,
        )
    if added:
        w, r, t = zip(*added, strict=True)
        conn.execute(
            f"""INSERT INTO {s}.search_terms
            SELECT * FROM unnest(%s::text[], %s::text[], %s::bytea[])
            ON CONFLICT DO NOTHING""",
            (_arrays.text(w), _arrays.text(r), _arrays.bytea(t)),
            binary=True,
        )


def _select(
    s: str, query: _search.RunQuery, after: tuple[int, str, str] | None, limit: int | None
) -> tuple[str, list[Any]]:
    """The SQL of the runs `query` asks for past `after` (a stored started_at, workflow_id,
    run_id), in search order, at most `limit`."""
    where: list[str] = []
    params: list[Any] = []
    for column, value in (("status", query.status), ("workflow_type", query.workflow_type)):
        if value is not None:
            where.append(f"r.{column} = %s")
            params.append(value)
    if query.closed_after is not None and query.status is None:
        where.append("r.status = ANY(%s)")  # (only a closed run has an end)
        params.append(_CLOSED)
    if query.started_after is not None:
        where.append("r.started_at > %s")
        params.append(shifted(query.started_after))
    if query.started_before is not None:
        where.append("r.started_at < %s")
        params.append(shifted(query.started_before))
    if after is not None:
        # the first test lets the index start at the cursor; the second settles ties
        where.append(
            "r.started_at <= %s AND (r.started_at < %s OR (r.workflow_id, r.run_id) > (%s, %s))"
        )
        params.extend([after[0], after[0], after[1], after[2]])
    for term in wanted(query):
        where.append(
            f"""EXISTS (SELECT 1 FROM {s}.search_terms t WHERE t.workflow_id = r.workflow_id
            AND t.run_id = r.run_id AND t.term = %s)"""
        )
        params.append(term)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    sql = f"""SELECT r.started_at, r.workflow_id, r.run_id, r.summary FROM {s}.runs r {clause}
        ORDER BY r.started_at DESC, r.workflow_id, r.run_id"""
    if limit is not None:
        sql += " LIMIT %s"
        params.append(limit)
    return sql, params


def _ordered(conn: Any, s: str, query: _search.RunQuery) -> Iterator[RunSummary]:
    """The runs SQL finds for `query` in search order, read a chunk at a time as the
    page asks for more; entries that do not decode are logged and left out."""
    after = None
    if query.after is not None:
        negative, workflow_id, run_id = query.after
        after = (shifted(-negative), workflow_id, run_id)
    chunk = None if query.limit is None else query.limit + 1
    while True:
        sql, params = _select(s, query, after, chunk)
        rows = conn.execute(sql, params, binary=True).fetchall()
        for _, workflow_id, run_id, data in rows:
            try:
                yield proj.to_summary(unpackb(bytes(data)), workflow_id, run_id)
            except Exception as exc:
                log.error(
                    "run index entry of %s/%s is damaged, left out: %s", workflow_id, run_id, exc
                )
        if chunk is None or len(rows) < chunk:
            return
        after = rows[-1][:3]
        chunk = max(chunk, min(chunk * 4, _MAX_CHUNK))


def search(conn: Any, s: str, query: _search.RunQuery) -> _search.RunPage:
    """The page `query` asks for (see the module docstring)."""
    return _search.page(query, _ordered(conn, s, query))
