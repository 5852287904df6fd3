"""The run index and the timers checked against the events they follow from, and rebuilt.

Both walk the `events` sub-database once, run by run (a run's events are one
key range), decode every event, check that its seqs run 1, 2, … with no gap,
and fold them with the same `_projection.fold` the append path uses (`imply`):
what the index and the timers should hold. `examine` (`_lmdb_examine`) compares
that with what they hold one run at a time (`implied_runs`); `rebuild` writes it,
in the caller's one write transaction. The search index (`_lmdb_search`) is
checked against the events too, and rebuilt from the run index after the run
index is.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import lmdb

from aion_actors.core import CorruptEvent, decode_event, packb
from aion_actors.store import _lmdb_prune, _lmdb_search
from aion_actors.store import _projection as proj
from aion_actors.store._lmdb_records import TimerIndex, ids_of

SEQ: int = 8  #: bytes of a seq (and of a fire time) in a key


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing found wrong: which part (`events`, `index`, `timers`, `expiry`), where, and
    what."""

    part: str
    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.part}: {self.where}: {self.problem}"


@dataclass(slots=True)
class Examination:
    """What `examine` counted and found."""

    runs: int = 0
    events: int = 0
    timers: int = 0
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """What `rebuild` wrote: index entries, timers, and the events it could not read."""

    runs: int
    timers: int
    unreadable: list[Finding]


@dataclass(slots=True)
class _Implied:
    """What the events say the index (None: no event decodes) and the timers should hold."""

    runs: dict[bytes, proj.Summary | None] = field(default_factory=dict)
    timers: dict[bytes, int] = field(default_factory=dict)
    events: int = 0


def where_of(run_key: bytes) -> str:
    workflow_id, run_id = ids_of(run_key)
    return f"workflow {workflow_id!r}, run {run_id}"


def _by_run(
    items: Iterable[tuple[bytes, bytes]],
) -> Iterator[tuple[bytes, list[tuple[int, bytes]]]]:
    """`events` entries grouped by run key, each as (seq, data)."""
    for run_key, group in itertools.groupby(items, key=lambda item: item[0][: -SEQ - 1]):
        yield run_key, [(int.from_bytes(k[-SEQ:], "big"), data) for k, data in group]


def doomed(txn: lmdb.Transaction[bytes], dbs: dict[bytes, Any]) -> set[bytes]:
    """Runs being deleted: invisible, not damaged (a deletion in flight: few)."""
    return set(_lmdb_prune.doomed_runs(txn, dbs))


def runs_of(
    txn: lmdb.Transaction[bytes],
    dbs: dict[bytes, Any],
    skip: set[bytes],
    start: bytes | None = None,
) -> Iterator[tuple[bytes, list[tuple[int, bytes]]]]:
    """The `events` entries of each run (in run key order, from run key `start` on) but
    those in `skip`."""
    cursor = txn.cursor(db=dbs[b"events"])
    items = cursor.iternext() if start is None or cursor.set_range(start + b"\0") else iter(())
    return ((key, stored) for key, stored in _by_run(items) if key not in skip)


def imply(
    run_key: bytes, stored: list[tuple[int, bytes]], found: list[Finding]
) -> tuple[proj.Summary | None, dict[bytes, int]]:
    """What one run's events (`stored`, by seq) say its index entry (None: no event
    decodes) and its timers (by timer key) should be; what is wrong with them to `found`."""
    where = where_of(run_key)
    workflow_id, run_id = ids_of(run_key)
    summary: proj.Summary | None = None
    timers: dict[str, int] = {}
    expected = 1
    for seq, data in stored:
        if seq != expected:
            gap = f"seq {expected}" if seq == expected + 1 else f"seqs {expected}-{seq - 1}"
            found.append(Finding("events", where, f"{gap} missing"))
        expected = seq + 1
        try:
            event = decode_event(data, workflow_id=workflow_id, run_id=run_id, seq=seq)
        except CorruptEvent as exc:
            found.append(Finding("events", f"{where}, seq {seq}", exc.problem))
            continue
        if summary is None:
            summary = proj.new_summary(workflow_id, run_id, event)
        for op, timer_id, fire_at in proj.fold(summary, [event]):
            if op == proj.SCHEDULE:
                timers[timer_id] = fire_at
            elif op == proj.CANCEL:
                timers.pop(timer_id, None)
            else:
                timers.clear()
    if summary is not None:
        summary["head"] = stored[-1][0]
    return summary, {run_key + b"\0" + tid.encode(): at for tid, at in timers.items()}


#: (run key, the summary its events imply, its timers, how many events it has)
Implied = tuple[bytes, proj.Summary | None, dict[bytes, int], int]


def implied_runs(
    txn: lmdb.Transaction[bytes],
    dbs: dict[bytes, Any],
    skip: set[bytes],
    found: list[Finding],
    start: bytes | None = None,
) -> Iterator[list[Implied]]:
    """What each run's events imply, a run (from run key `start` on) at a time, in run key
    order, as `_implied` has it: a damaged key inside a run's key range starts a group of
    its own and, where it is followed by more of the run's events, a second group of the
    run, whose summary then is the last group's and whose timers are all groups'. So a run
    comes with the groups such keys make in its range (almost always none)."""
    block: list[tuple[bytes, list[tuple[int, bytes]]]] = []
    for key, stored in runs_of(txn, dbs, skip, start):
        first = block[0][0] if block else None
        if first is not None and key != first and not key.startswith(first + b"\0"):
            yield _folded(block, found)
            block = []
        block.append((key, stored))
    if block:
        yield _folded(block, found)


def _folded(
    block: list[tuple[bytes, list[tuple[int, bytes]]]], found: list[Finding]
) -> list[Implied]:
    runs: dict[bytes, Implied] = {}
    for key, stored in block:
        summary, timers = imply(key, stored, found)
        _, _, before, count = runs.get(key, (key, None, {}, 0))
        runs[key] = key, summary, {**before, **timers}, count + len(stored)
    return sorted(runs.values(), key=lambda run: run[0])


def _implied(txn: lmdb.Transaction[bytes], dbs: dict[bytes, Any], found: list[Finding]) -> _Implied:
    implied = _Implied()
    for run_key, stored in runs_of(txn, dbs, doomed(txn, dbs)):
        implied.events += len(stored)
        implied.runs[run_key], timers = imply(run_key, stored, found)
        implied.timers.update(timers)
    return implied


def rebuild(txn: lmdb.Transaction[bytes], dbs: dict[bytes, Any], timers: TimerIndex) -> Rebuilt:
    """Replace the index, the timers and the expiry index with what the events imply (in the
    caller's transaction); runs whose deletion has started stay deleted.

    A run none of whose events decodes keeps its old entry, if it has one. Timers
    no event records (set with `schedule_timer` directly; the engine sets none) are
    dropped.
    """
    unreadable: list[Finding] = []
    implied = _implied(txn, dbs, unreadable)
    entries: dict[bytes, bytes] = {}
    for key, summary in implied.runs.items():
        old = txn.get(key, db=dbs[b"runs"]) if summary is None else None
        if summary is not None:
            entries[key] = packb(summary)
        elif old is not None:
            entries[key] = old
    for name in (b"runs", b"timers", b"timer_ids"):
        txn.drop(dbs[name], delete=False)
    for key, data in entries.items():
        txn.put(key, data, db=dbs[b"runs"])
    for timer_key, fire_at in implied.timers.items():
        timers.schedule(txn, timer_key, fire_at)
    if _lmdb_prune.EXPIRY in dbs:
        _lmdb_prune.rebuild(txn, dbs)
    if b"search" in dbs:
        _lmdb_search.build(txn, dbs)
    return Rebuilt(len(entries), len(implied.timers), unreadable)
