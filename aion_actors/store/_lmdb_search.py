"""The LMDB search index: rows that list runs in search order, per filter value.

Two sub-databases, written in the append transaction by `update` (so they always
agree with the run index) and read by `search`:

- `search`: `kind (1 byte) + digest (16) + (2**64-1 - started_at) (8, big-endian)
  + workflow_id \\0 run_id` → b"". A prefix `kind + digest` names one filter value —
  `D` every run, `S` a status, `T` a workflow type, `P` a parent workflow_id,
  `A` an attribute name and value token (`core/attributes.py`), the digest a
  BLAKE2b of the value, so keys stay short whatever the value — and its rows are
  that value's runs, newest started first, ties by ids: the order of `_search`.
- `search_counts`: `kind + digest` → how many rows it has (8 bytes), so `search`
  scans the most selective prefix among the query's filters.

`search` walks the chosen prefix from the cursor's position (or `started_before`),
stops past `started_after`, and checks every filter against the run's summary.
`forget` removes a run's rows (for deleting runs). A data directory written before
the index existed gets it on open (`build`, from the run index; meta key
`search_index`); `examine` (`_lmdb_checks`) and `rebuild` cover it as `_lmdb_index`
covers the rest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any, Final

import lmdb

from aion_actors.core import CorruptEvent, packb
from aion_actors.core.attributes import tokens
from aion_actors.store import _projection as proj
from aion_actors.store import _search
from aion_actors.store._lmdb_records import DamagedRun, ids_of, summaries, unpack_summary
from aion_actors.store.protocol import RunSummary

DB_NAMES: Final = (b"search", b"search_counts")
BUILT_KEY: Final = b"search_index"
_HEAD: Final = 1 + 16  # kind + digest
_ROW: Final = _HEAD + 8  # then the run key
_MAX: Final = 2**64 - 1
_ALL: Final = b"D" + hashlib.blake2b(b"", digest_size=16).digest()


def _prefix(kind: bytes, value: bytes | str) -> bytes:
    if isinstance(value, str):  # (a value no event could carry still gets a row)
        value = value.encode(errors="surrogatepass")
    return kind + hashlib.blake2b(value, digest_size=16).digest()


def prefixes(summary: proj.Summary) -> set[bytes]:
    """Every filter value a run is listed under (its index prefixes)."""
    found = {_ALL, _prefix(b"S", str(summary.get("status")))}
    found.add(_prefix(b"T", str(summary.get("workflow_type"))))
    parent = summary.get("parent")
    if isinstance(parent, dict) and isinstance(parent.get("workflow_id"), str):
        found.add(_prefix(b"P", parent["workflow_id"]))
    attributes = summary.get("attributes")
    if isinstance(attributes, dict):
        for name, value in attributes.items():
            for token in tokens(value):
                found.add(_prefix(b"A", str(name).encode(errors="surrogatepass") + b"\0" + token))
    return found


def _desc(started_at: int) -> bytes:
    return (_MAX - min(max(started_at, 0), _MAX)).to_bytes(8, "big")


def _tail(summary: proj.Summary, run_key: bytes) -> bytes:
    """What follows the prefix in each of the run's rows."""
    return _desc(summary.get("started_at") or 0) + run_key


def _rows(summary: proj.Summary, run_key: bytes) -> dict[bytes, bytes]:
    """The run's rows, by their prefix."""
    tail = _tail(summary, run_key)
    return {prefix: prefix + tail for prefix in prefixes(summary)}


#: (for `_lmdb_checks`) the run's rows by prefix; a row's prefix length, and its run key's offset
rows_of, HEAD, ROW = _rows, _HEAD, _ROW


def lists(summary: proj.Summary, run_key: bytes, row: bytes) -> bool:
    """Whether `row` is one of the run's rows (`row in _rows(...).values()`, without
    hashing every prefix of the run for each of its rows)."""
    if row[_HEAD:] != _tail(summary, run_key):
        return False
    kind = row[:1]
    if kind == b"D":
        return row[:_HEAD] == _ALL
    if kind in (b"S", b"T"):
        field = "status" if kind == b"S" else "workflow_type"
        return row[:_HEAD] == _prefix(kind, str(summary.get(field)))
    return row[:_HEAD] in prefixes(summary)


_INDEXED: Final = ("status", "workflow_type", "started_at", "parent", "attributes")


def update(
    txn: lmdb.Transaction[bytes],
    dbs: dict[bytes, Any],
    run_key: bytes,
    old: proj.Summary | None,
    new: proj.Summary,
    counts: dict[bytes, int] | None = None,
) -> None:
    """Bring the run's rows from what `old` listed to what `new` lists (same transaction).

    `counts`: where to add the row count changes, for one `write_counts` after
    the batch (a group commit's runs share the few hot prefixes: every run is
    under `D`, most under one status and type); None writes them now.
    """
    search = dbs[b"search"]
    changes: dict[bytes, int] = {} if counts is None else counts
    before: dict[bytes, bytes] = {}
    if old is None:
        after = _rows(new, run_key)
    else:
        was, now = [*map(old.get, _INDEXED)], [*map(new.get, _INDEXED)]
        if was == now:
            return  # (most appends: only the head moved; compared without a generator per run)
        if was[1:] == now[1:]:  # (the status alone moved: its one row, not every prefix's)
            tail = _tail(new, run_key)
            gone, came = _prefix(b"S", str(was[0])), _prefix(b"S", str(now[0]))
            before, after = {gone: gone + tail}, {came: came + tail}
        else:
            before, after = _rows(old, run_key), _rows(new, run_key)
    for prefix, row in before.items():
        if after.get(prefix) != row:
            txn.delete(row, db=search)
            if prefix not in after:
                changes[prefix] = changes.get(prefix, 0) - 1
    for prefix, row in after.items():
        if before.get(prefix) != row:
            txn.put(row, b"", db=search)
            if prefix not in before:
                changes[prefix] = changes.get(prefix, 0) + 1
    if counts is None:
        write_counts(txn, dbs, changes)


def write_counts(
    txn: lmdb.Transaction[bytes], dbs: dict[bytes, Any], changes: dict[bytes, int]
) -> None:
    """Apply the row count changes `update` collected (same transaction)."""
    for prefix, change in changes.items():
        if change:
            _count(txn, dbs[b"search_counts"], prefix, change)


def forget(txn: lmdb.Transaction[bytes], dbs: dict[bytes, Any], summary: proj.Summary) -> None:
    """Remove every row of the run `summary` describes (call it where the run is deleted)."""
    run_key = proj.run_key(summary["workflow_id"], summary["run_id"])
    for prefix, row in _rows(summary, run_key).items():
        if txn.delete(row, db=dbs[b"search"]):
            _count(txn, dbs[b"search_counts"], prefix, -1)


def _count(txn: lmdb.Transaction[bytes], counts: Any, prefix: bytes, change: int) -> None:
    stored = txn.get(prefix, db=counts)
    total = (int.from_bytes(stored, "big") if stored else 0) + change
    if total > 0:
        txn.put(prefix, total.to_bytes(8, "big"), db=counts)
    elif stored is not None:
        txn.delete(prefix, db=counts)


def _candidates(query: _search.RunQuery) -> list[bytes]:
    found = [_ALL]
    if query.status is not None:
        found.append(_prefix(b"S", query.status))
    if query.workflow_type is not None:
        found.append(_prefix(b"T", query.workflow_type))
    if query.parent is not None:
        found.append(_prefix(b"P", query.parent))
    for name, token in query.attributes:
        found.append(_prefix(b"A", name.encode(errors="surrogatepass") + b"\0" + token))
    return found


def search(
    txn: lmdb.Transaction[bytes], dbs: dict[bytes, Any], query: _search.RunQuery
) -> tuple[_search.RunPage, list[DamagedRun]]:
    """The page `query` asks for, and the damaged run index entries met on the way;
    `Damaged` where the index is (`scan` answers without it)."""
    if not built(txn, dbs):  # read-only, on a directory no writer has opened since
        return scan(txn, dbs, query)
    prefix = min(_candidates(query), key=lambda prefix: _size(txn, dbs, prefix))
    damaged: list[DamagedRun] = []
    return _search.page(query, _walk(txn, dbs, prefix, query, damaged)), damaged


def scan(
    txn: lmdb.Transaction[bytes], dbs: dict[bytes, Any], query: _search.RunQuery
) -> tuple[_search.RunPage, list[DamagedRun]]:
    """The page `query` asks for, read from the whole run index without the search index."""
    found, bad = summaries(list(txn.cursor(db=dbs[b"runs"])))
    return _search.page(query, sorted(found, key=_search.sort_key)), bad


class Damaged(Exception):
    """The search index is damaged where a walk met it (`problem` says how): a walk that
    trusted it would list too few runs."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(problem)


def _out_of_order(row: bytes) -> Damaged:
    return Damaged(f"a {row[:1].decode(errors='replace')!r} row is out of key order")


def _size(txn: lmdb.Transaction[bytes], dbs: dict[bytes, Any], prefix: bytes) -> int:
    stored = txn.get(prefix, db=dbs[b"search_counts"])
    return int.from_bytes(stored, "big") if stored else 0


class _Rows:
    """The rows of `prefix` from the first at or after `start`, in key order, checked as
    they come (`Damaged`, where a damaged page would end the walk early or start it past
    rows): the landing against the two rows before it, each row against the one before it,
    the row after the prefix's last, and, walked from the prefix's first row to its
    last, their number against the prefix's count. `stop(row)`, where the caller stops
    early, checks the row after `row`."""

    def __init__(
        self, txn: lmdb.Transaction[bytes], dbs: dict[bytes, Any], prefix: bytes, start: bytes
    ) -> None:
        self._cursor = txn.cursor(db=dbs[b"search"])
        self._prefix, self._start = prefix, start
        self._landed = self._cursor.set_range(start)
        self._count = _size(txn, dbs, prefix) if start == prefix else None
        # the two rows before the landing (or the last two): a row out of order there
        # leads the binary search past rows at or after `start`
        before = txn.cursor(db=dbs[b"search"])
        if before.prev() if before.set_range(start) else before.last():
            row = before.key()
            if row >= start or (before.prev() and before.key() >= row):
                raise _out_of_order(row)

    def __iter__(self) -> Iterator[bytes]:
        previous, seen = None, 0
        for key in self._cursor.iternext(values=False) if self._landed else ():
            if key < self._start if previous is None else key <= previous:
                raise _out_of_order(key)
            if not key.startswith(self._prefix):
                self.stop(key)
                break
            previous, seen = key, seen + 1
            yield key
        if self._count is not None and seen != self._count:
            kind = self._prefix[:1].decode(errors="replace")
            raise Damaged(f"{seen:,} rows of a {kind!r} prefix, but its count is {self._count:,}")

    def stop(self, row: bytes) -> None:
        if self._cursor.next() and self._cursor.key() <= row:
            raise _out_of_order(self._cursor.key())


def _start(prefix: bytes, query: _search.RunQuery) -> bytes:
    start = prefix
    if query.started_before is not None:
        start = prefix + _desc(query.started_before - 1)
    if query.after is not None:
        negative, workflow_id, run_id = query.after
        at = prefix + _desc(-negative) + proj.run_key(workflow_id, run_id)
        start = max(start, at)
    return start


def _walk(
    txn: lmdb.Transaction[bytes],
    dbs: dict[bytes, Any],
    prefix: bytes,
    query: _search.RunQuery,
    damaged: list[DamagedRun],
) -> Iterator[RunSummary]:
    """The runs listed under `prefix` from the query's start, in search order."""
    if query.started_before is not None and query.started_before <= 0:
        return
    runs = dbs[b"runs"]
    rows = _Rows(txn, dbs, prefix, _start(prefix, query))
    for key in rows:
        started_at = _MAX - int.from_bytes(key[_HEAD:_ROW], "big")
        if query.started_after is not None and started_at <= query.started_after:
            rows.stop(key)
            return
        run_key = key[_ROW:]
        data = txn.get(run_key, db=runs)
        if data is None:
            continue
        workflow_id, run_id = ids_of(run_key)
        try:
            yield proj.to_summary(unpack_summary(data, workflow_id, run_id), workflow_id, run_id)
        except CorruptEvent as exc:
            damaged.append(DamagedRun(workflow_id, run_id, exc.problem))


def with_status(
    txn: lmdb.Transaction[bytes], dbs: dict[bytes, Any], status: str
) -> tuple[list[RunSummary], list[DamagedRun]] | None:
    """The runs whose status is `status`, in run index order (as a scan of the run index
    lists them), read through the status's rows: a status few runs have costs little
    however many runs the store holds. None when the index is not built; `Damaged` where
    it is."""
    if not built(txn, dbs):
        return None
    prefix = _prefix(b"S", status)
    run_keys = [key[_ROW:] for key in _Rows(txn, dbs, prefix, prefix)]
    runs = dbs[b"runs"]
    stored = [(key, data) for key in sorted(run_keys) if (data := txn.get(key, db=runs))]
    return summaries(stored)


def ensure(txn: lmdb.Transaction[bytes], dbs: dict[bytes, Any]) -> None:
    """Build the index unless this data directory has it (see the module docstring)."""
    if txn.get(BUILT_KEY, db=dbs[b"meta"]) is None:
        build(txn, dbs)


def built(txn: lmdb.Transaction[bytes], dbs: dict[bytes, Any]) -> bool:
    """Whether the index is there to read (a read-only open of an older directory: no)."""
    return b"search" in dbs and txn.get(BUILT_KEY, db=dbs[b"meta"]) is not None


def build(txn: lmdb.Transaction[bytes], dbs: dict[bytes, Any]) -> int:
    """Write the index afresh from the run index (in the caller's write transaction);
    returns how many runs it lists. Entries that do not decode are left out."""
    search, counts = dbs[b"search"], dbs[b"search_counts"]
    txn.drop(search, delete=False)
    txn.drop(counts, delete=False)
    tally: dict[bytes, int] = {}
    listed = 0
    for run_key, data in txn.cursor(db=dbs[b"runs"]):
        try:
            summary = unpack_summary(data, *ids_of(run_key))
        except CorruptEvent:
            continue
        listed += 1
        for prefix, row in _rows(summary, run_key).items():
            txn.put(row, b"", db=search)
            tally[prefix] = tally.get(prefix, 0) + 1
    for prefix, total in tally.items():
        txn.put(prefix, total.to_bytes(8, "big"), db=counts)
    txn.put(BUILT_KEY, packb(1), db=dbs[b"meta"])
    return listed
