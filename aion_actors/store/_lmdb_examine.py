"""`examine`: the run index, the timers, the expiry and search indexes checked against the
events, in one read transaction and in memory bounded by one run, however many the store holds.

The `events` sub-database and the run index are both keyed by run key, so one walk of
the two side by side (a merge) meets each run once: its events folded into the summary
and timers they imply (`_lmdb_index.imply`), compared with its index entry, then its
timers, expiry entry and search rows looked up by key. Each secondary index is then
walked in its own key order, every entry checked by lookup against the run index (and,
for a timer none of the run's checks accounted for, against its run's events again),
which finds the entries that belong to no run. What is kept between runs is what is
wrong (the findings, and the few timers and runs they concern) and one row counter per
search prefix at a time. The findings are those, in the order, the whole-store
comparison before this one gave (`examine`'s docstring says where the order is new).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from aion_actors.core import CorruptEvent
from aion_actors.store import _lmdb_checks
from aion_actors.store import _projection as proj
from aion_actors.store._lmdb_checks import get, status_of
from aion_actors.store._lmdb_index import (
    SEQ,
    Examination,
    Finding,
    Implied,
    doomed,
    implied_runs,
    where_of,
)
from aion_actors.store._lmdb_prune import Txn
from aion_actors.store._lmdb_records import ids_of, unpack_summary

_COMPARED = (
    "workflow_type",
    "status",
    "started_at",
    "ended_at",
    "head",
    "version",
    "restarts",
    "parent",
    "attributes",
)
#: what an entry written before a field existed means by its absence
_ABSENT: dict[str, Any] = {"attributes": {}}


def _joined(
    txn: Txn, dbs: dict[bytes, Any], skip: set[bytes], found: list[Finding]
) -> Iterator[tuple[bytes, Implied | None, bytes | None]]:
    """(run key, what its events imply or None, its index entry or None), in run key order."""
    events = itertools.chain.from_iterable(implied_runs(txn, dbs, skip, found))
    entries = txn.cursor(db=dbs[b"runs"]).iternext()
    run, entry = next(events, None), next(entries, None)
    while run is not None or entry is not None:
        if entry is None or (run is not None and run[0] < entry[0]):
            assert run is not None
            yield run[0], run, None
            run = next(events, None)
        elif run is None or entry[0] < run[0]:
            yield entry[0], None, entry[1]
            entry = next(entries, None)
        else:
            yield run[0], run, entry[1]
            run, entry = next(events, None), next(entries, None)


def examine(txn: Txn, dbs: dict[bytes, Any]) -> Examination:
    """Every index entry and timer checked against the events, in one read transaction.

    Findings come part by part as before: the events', the index's (in run key order),
    the runs with no index entry, the timers', the expiry index's, the search index's. Two
    kinds, listed in no particular order before, now come in key order: closed runs the
    expiry index lacks (run key order), and search rows lacking (run key order) or row
    counts lacking (prefix order)."""
    report = Examination()
    events: list[Finding] = []
    index: list[Finding] = []
    unindexed: list[Finding] = []
    skip = doomed(txn, dbs)
    timers = _Timers(txn, dbs, skip)
    expiry = _lmdb_checks.Expiry(txn, dbs)
    search = _lmdb_checks.Search(txn, dbs)
    for key, run, entry in _joined(txn, dbs, skip, events):
        summary: proj.Summary | None = None
        where = where_of(key)
        stored = run is not None
        if run is not None:
            _, summary, implied, count = run
            report.events += count
            timers.implied(implied)
        regular = False
        if entry is not None:
            report.runs += 1
            status, problem = _entry(key, entry, stored, summary)
            if problem is not None:
                index.append(Finding("index", where, problem))
            regular = problem is None
            if status:
                expiry.closed(key)
        elif stored:
            unindexed.append(Finding("index", where, "the run has events but no index entry"))
        if stored and summary is None and entry is not None:
            summary = _unpacked(key, entry)  # the search rows it should have: the entry's
        search.run(key, summary if stored else None, regular)
    found = report.findings
    found += events + index + unindexed
    report.timers = timers.walk(found)
    flagged = {f.where for f in found}  # a run the index is wrong about: said once, above
    found += [Finding("expiry", where_of(k), p) for k, p in expiry.walk(flagged)]
    found += [Finding("search", *problem) for problem in search.walk()]
    return report


def _entry(
    key: bytes, entry: bytes, stored: bool, want: proj.Summary | None
) -> tuple[str | None, str | None]:
    """A run index entry read and compared with what its events imply: its status if
    closed ("" if open, None if it does not decode), and what is wrong with it."""
    workflow_id, run_id = ids_of(key)
    try:
        record = unpack_summary(entry, workflow_id, run_id)
        indexed = proj.to_summary(record, workflow_id, run_id)
    except CorruptEvent as exc:
        return None, exc.problem
    status = indexed.status.value if indexed.status.is_terminal else ""
    if not stored:
        return status, "indexed, but the run has no events"
    differ = [
        f"{name} {record.get(name)!r} (its events say {want[name]!r})"
        for name in _COMPARED
        if want is not None and record.get(name, _ABSENT.get(name)) != want[name]
    ]
    return status, "the entry disagrees: " + ", ".join(differ) if differ else None


def _unpacked(key: bytes, entry: bytes) -> dict[str, Any] | None:
    try:
        return unpack_summary(entry, *ids_of(key))
    except CorruptEvent:
        return None


class _Timers:
    """The timers: each run's, as its events set them, looked up in `timer_ids` and
    `timers` as the merge meets the run (`implied`); then `timers` walked in time order
    and `timer_ids` in key order (`walk`), each entry checked by lookup. Kept meanwhile:
    the timers whose events disagree with the indexes (`differ`, and of them those with
    no `timers` entry at that time, `unseen`), and the timers with a `timers` entry
    `timer_ids` does not name (`strays`): damage, not the store's size."""

    def __init__(self, txn: Txn, dbs: dict[bytes, Any], skip: set[bytes]) -> None:
        self._txn, self._dbs, self._skip = txn, dbs, skip
        self._timers, self._ids = dbs[b"timers"], dbs[b"timer_ids"]
        self._differ: dict[bytes, int] = {}
        self._unseen: dict[bytes, int] = {}
        self._strays: set[bytes] = set()
        self._folded: tuple[bytes, dict[bytes, int]] | None = None

    def _at(self, fire_at: int) -> bytes | None:
        return fire_at.to_bytes(SEQ, "big") if 0 <= fire_at < 2 ** (8 * SEQ) else None

    def implied(self, implied: dict[bytes, int]) -> None:
        for timer_key, fire_at in implied.items():
            at = self._at(fire_at)
            held = at is not None and get(self._txn, at + timer_key, self._timers) is not None
            if not held or get(self._txn, timer_key, self._ids) != at:
                self._differ[timer_key] = fire_at
            if not held:
                self._unseen[timer_key] = fire_at

    def _events_say(self, run_key: bytes, timer_key: bytes) -> int | None:
        """When the run's events set the timer (None: they do not), its events read again:
        for a timer `timer_ids` does not name (damage), not for every timer."""
        if self._folded is None or self._folded[0] != run_key:
            implied: dict[bytes, int] = {}
            runs = implied_runs(self._txn, self._dbs, self._skip, [], start=run_key)
            for _, _, timers, _ in next(runs, []):  # (with its range's damaged keys')
                implied.update(timers)
            self._folded = run_key, implied
        return self._folded[1].get(timer_key)

    def walk(self, found: list[Finding]) -> int:
        """Check every `timers` and `timer_ids` entry; returns how many timers there are."""
        txn, strays, count = self._txn, self._strays, 0
        for key in txn.cursor(db=self._timers).iternext(values=False):
            count += 1
            timer_key, at = key[SEQ:], key[:SEQ]
            workflow_id, _, rest = timer_key.partition(b"\0")
            run_id, _, timer_id = rest.partition(b"\0")
            run_key = workflow_id + b"\0" + run_id
            where = f"timer {timer_id.decode(errors='replace')!r} of " + where_of(run_key)
            named = get(txn, timer_key, self._ids)
            stray = named != at
            # the first entry of this timer in time order (a timer has one but where damaged)
            first = timer_key not in strays and not (
                stray
                and named is not None
                and len(named) == SEQ
                and named + timer_key < key
                and get(txn, named + timer_key, self._timers) is not None
            )
            if stray or not first:
                found.append(Finding("timers", where, "not in timer_ids with this time"))
            if stray:
                strays.add(timer_key)
            status = status_of(txn, self._dbs, run_key)
            if status == "?":
                found.append(Finding("timers", where, "its run is not in the run index"))
            elif status:  # "" for an open run; None (a damaged entry) is reported already
                found.append(Finding("timers", where, f"its run is closed ({status})"))
            fire_at = int.from_bytes(at, "big")
            want = self._differ.get(timer_key) if first else None
            if first and want is None and stray:
                want = self._events_say(run_key, timer_key)
            if want is not None and want != fire_at:
                found.append(
                    Finding("timers", where, "its time differs from the one its events set")
                )
            self._unseen.pop(timer_key, None)
        for timer_key, at in txn.cursor(db=self._ids):
            held = len(at) == SEQ and get(txn, at + timer_key, self._timers) is not None
            if not held and timer_key not in strays:
                found.append(
                    Finding("timers", repr(timer_key[:80]), "in timer_ids but not in timers")
                )
        for timer_key in self._unseen:
            found.append(Finding("timers", repr(timer_key[:80]), "set by its events but missing"))
        return count
