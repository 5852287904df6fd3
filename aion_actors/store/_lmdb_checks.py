"""The expiry and search indexes checked for `examine` (`_lmdb_examine`), one run at a time.

Each is told about every run as the merge of the events and the run index meets it
(`closed`, `run`: what can be looked up by the run's key), then walks its own
sub-database in key order, looking each entry up (`walk`): what belongs to no run is
found there. Neither keeps anything per run but what is wrong, and the search check one
row counter per prefix at a time (rows are keyed prefix first, so a prefix's rows are one
key range, walked beside `search_counts` in the same order).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from typing import Any

import lmdb

from aion_actors.core import CorruptEvent
from aion_actors.store import _lmdb_prune, _lmdb_search
from aion_actors.store import _projection as proj
from aion_actors.store._lmdb_index import where_of
from aion_actors.store._lmdb_prune import DOOMED, REVERSE, WAITING, Txn
from aion_actors.store._lmdb_records import ids_of, unpack_summary
from aion_actors.store._lmdb_search import HEAD, ROW


def get(txn: Txn, key: bytes, db: Any) -> bytes | None:
    """`txn.get`, None for a key LMDB cannot hold (empty, too long: a damaged one's)."""
    try:
        return txn.get(key, db=db) if key else None
    except lmdb.BadValsizeError:
        return None


def status_of(txn: Txn, dbs: dict[bytes, Any], run: bytes) -> str | None:
    """The run's status in the run index if closed, "" if open, "?" if it has no entry,
    None if its entry does not decode."""
    data = get(txn, run, dbs[b"runs"])
    if data is None:
        return "?"
    workflow_id, run_id = ids_of(run)
    try:
        indexed = proj.to_summary(unpack_summary(data, workflow_id, run_id), workflow_id, run_id)
    except CorruptEvent:
        return None
    return indexed.status.value if indexed.status.is_terminal else ""


class Expiry:
    """Each closed run filed once, and each entry filing a closed run of the run index."""

    def __init__(self, txn: Txn, dbs: dict[bytes, Any]) -> None:
        self._txn, self._dbs = txn, dbs
        self._db = dbs.get(_lmdb_prune.EXPIRY)
        built = self._db is not None and txn.get(_lmdb_prune.BUILT_KEY, db=dbs[b"meta"])
        self._built = bool(built)
        self._unfiled: list[bytes] = []

    def closed(self, run: bytes) -> None:
        """`run` is closed in the run index."""
        if self._built and get(self._txn, REVERSE + run, self._db) is None:
            self._unfiled.append(run)

    def walk(self, flagged: set[str]) -> list[tuple[bytes, str]]:
        """(run key, problem) for each run the index files wrongly or not at all (but runs
        whose index entry is missing or damaged, and the runs `flagged` names)."""
        if not self._built:
            return []
        txn, db, found = self._txn, self._db, []
        for key in txn.cursor(db=db).iternext(values=False):
            if key.startswith((REVERSE, DOOMED)):
                continue
            if key.startswith(WAITING):
                run = key[1:].partition(b"\0")[2].partition(b"\0")[2]
            else:
                run = key.partition(b"\0")[2][8:]
            if status_of(txn, self._dbs, run) in ("", "?", None):
                found.append((run, "the expiry index files it, but it is not a closed run"))
            elif get(txn, REVERSE + run, db) != key:
                found.append((run, "its expiry entry is not the one the expiry index names"))
        cursor = txn.cursor(db=db)
        for key, entry in cursor.iternext() if cursor.set_range(REVERSE) else ():
            if not key.startswith(REVERSE):
                break
            if entry.startswith((REVERSE, DOOMED)) or get(txn, entry, db) is None:
                found.append((key[1:], "the expiry index names an entry it does not hold"))
        for run in self._unfiled:
            found.append((run, "closed, but not in the expiry index (the pruner would keep it)"))
        return [
            (run, problem)
            for run, problem in found
            if status_of(txn, self._dbs, run) not in (None, "?") and where_of(run) not in flagged
        ]


class Search:
    """Each run's search rows and each prefix's row count, as the events imply them."""

    def __init__(self, txn: Txn, dbs: dict[bytes, Any]) -> None:
        self._txn, self._dbs = txn, dbs
        self._built = _lmdb_search.built(txn, dbs)
        self._lacking: list[tuple[str, str]] = []
        self._lacking_at: dict[bytes, int] = {}  # rows lacking, by prefix
        self._odd: dict[bytes, set[bytes]] = {}  # the rows of runs not as their entry says
        self._held = 0  # rows the runs should have that the index has

    def run(self, run: bytes, summary: proj.Summary | None, as_indexed: bool) -> None:
        """The rows `run` should have, from `summary` (None: none); `as_indexed`: its run
        index entry implies the same rows (so `walk` reads them from there)."""
        if not self._built:
            return
        rows = _lmdb_search.rows_of(summary, run) if summary is not None else {}
        self._held += len(rows)
        for prefix, row in rows.items():
            if get(self._txn, row, self._dbs[b"search"]) is None:
                self._held -= 1
                problem = f"its search row ({row[:1].decode()}) is missing"
                self._lacking.append((where_of(run), problem))
                self._lacking_at[prefix] = self._lacking_at.get(prefix, 0) + 1
        if not as_indexed:
            self._odd[run] = set(rows.values())

    def _expected(self, row: bytes) -> bool:
        run = row[ROW:]
        rows = self._odd.get(run)
        if rows is not None:
            return row in rows
        data = get(self._txn, run, self._dbs[b"runs"])  # a run as its entry says
        try:
            summary = unpack_summary(data, *ids_of(run)) if data is not None else None
        except CorruptEvent:
            return False
        return summary is not None and _lmdb_search.lists(summary, run, row)

    def _present(self, found: list[tuple[str, str]]) -> Iterator[tuple[bytes, int, int]]:
        """(prefix, 0, how many of its rows are expected), prefix by prefix; the rows not
        expected to `found`."""
        db = self._dbs[b"search"]
        # as many rows as the runs should have found: no other row (none looked up again)
        exact = self._txn.stat(db)["entries"] == self._held
        keys = self._txn.cursor(db=db).iternext(values=False)
        for prefix, rows in itertools.groupby(keys, key=lambda key: key[:HEAD]):
            expected = 0
            for key in rows:
                if exact or self._expected(key):
                    expected += 1
                else:
                    where = where_of(key[ROW:])
                    found.append((where, f"a search row ({key[:1].decode()}) it has not"))
            yield prefix, 0, expected

    def walk(self) -> list[tuple[str, str]]:
        """(where, problem) for every row or count that disagrees with what the events imply."""
        if not self._built:
            return []
        extra: list[tuple[str, str]] = []
        counts = self._txn.cursor(db=self._dbs[b"search_counts"]).iternext()
        stored = ((prefix, 1, int.from_bytes(count, "big")) for prefix, count in counts)
        lacking = ((prefix, 0, n) for prefix, n in sorted(self._lacking_at.items()))
        wrong: list[tuple[str, str]] = []
        uncounted: list[tuple[str, str]] = []
        merged = heapq.merge(self._present(extra), lacking, stored, key=lambda item: item[0])
        for prefix, items in itertools.groupby(merged, key=lambda item: item[0]):
            want, count = 0, None
            for _, kind, n in items:
                if kind:
                    count = n
                else:
                    want += n
            kind_of = prefix[:1].decode()
            if count is not None and count != want:
                wrong.append(("search counts", f"the count of a {kind_of} row is wrong"))
            elif count is None and want:
                uncounted.append(("search counts", f"a count of {kind_of} rows is missing"))
        return extra + self._lacking + wrong + uncounted
