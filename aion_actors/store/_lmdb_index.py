"""The run index and the timers checked against the events they follow from, and rebuilt.

Both walk the `events` sub-database once, run by run (a run's events are one
key range), decode every event, check that its seqs run 1, 2, … with no gap,
and fold them with the same `_projection.fold` the append path uses: what
the index and the timers should hold. `examine` compares that with what they
hold; `rebuild` writes it, in the caller's one write transaction. The search
index (`_lmdb_search`) is checked against the run index, and rebuilt from it
after the run index is.
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
from aion_actors.store._lmdb_records import TimerIndex, ids_of, unpack_summary

_SEQ: int = 8
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


def _where(run_key: bytes) -> str:
    workflow_id, run_id = ids_of(run_key)
    return f"workflow {workflow_id!r}, run {run_id}"


def _by_run(
    items: Iterable[tuple[bytes, bytes]],
) -> Iterator[tuple[bytes, list[tuple[int, bytes]]]]:
    """`events` entries grouped by run key, each as (seq, data)."""
    for run_key, group in itertools.groupby(items, key=lambda item: item[0][: -_SEQ - 1]):
        yield run_key, [(int.from_bytes(k[-_SEQ:], "big"), data) for k, data in group]


def _implied(txn: lmdb.Transaction[bytes], dbs: dict[bytes, Any], found: list[Finding]) -> _Implied:
    implied = _Implied()
    items = txn.cursor(db=dbs[b"events"]).iternext()
    doomed = set(_lmdb_prune.doomed_runs(txn, dbs))  # being deleted: invisible, not damaged
    for run_key, stored in _by_run(items):
        if run_key in doomed:
            continue
        where = _where(run_key)
        workflow_id, run_id = ids_of(run_key)
        summary: proj.Summary | None = None
        timers: dict[str, int] = {}
        expected = 1
        for seq, data in stored:
            implied.events += 1
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
        implied.runs[run_key] = summary
        for timer_id, fire_at in timers.items():
            implied.timers[run_key + b"\0" + timer_id.encode()] = fire_at
    return implied


def examine(txn: lmdb.Transaction[bytes], dbs: dict[bytes, Any]) -> Examination:
    """Every index entry and timer checked against the events, in one read transaction."""
    report = Examination()
    found = report.findings
    implied = _implied(txn, dbs, found)
    report.events = implied.events
    expected = dict(implied.runs)  # (popped below)
    indexed_status: dict[bytes, str | None] = {}  # None: the entry is damaged
    closed: set[bytes] = set()
    for key, data in txn.cursor(db=dbs[b"runs"]):
        report.runs += 1
        workflow_id, run_id = ids_of(key)
        where = _where(key)
        try:
            record = unpack_summary(data, workflow_id, run_id)
            indexed = proj.to_summary(record, workflow_id, run_id)
        except CorruptEvent as exc:
            found.append(Finding("index", where, exc.problem))
            implied.runs.pop(key, None)
            indexed_status[key] = None
            continue
        indexed_status[key] = indexed.status.value if indexed.status.is_terminal else ""
        if indexed.status.is_terminal:
            closed.add(key)
        if key not in implied.runs:
            found.append(Finding("index", where, "indexed, but the run has no events"))
            continue
        want = implied.runs.pop(key)
        differ = [
            f"{name} {record.get(name)!r} (its events say {want[name]!r})"
            for name in _COMPARED
            if want is not None and record.get(name, _ABSENT.get(name)) != want[name]
        ]
        if differ:
            found.append(Finding("index", where, "the entry disagrees: " + ", ".join(differ)))
    for key in implied.runs:
        found.append(Finding("index", _where(key), "the run has events but no index entry"))
    _examine_timers(txn, dbs, implied.timers, indexed_status, report)
    flagged = {f.where for f in found}  # a run the index is wrong about: said once, above
    for key, problem in _lmdb_prune.findings(txn, dbs, closed):
        if indexed_status.get(key) is not None and _where(key) not in flagged:
            found.append(Finding("expiry", _where(key), problem))
    if _lmdb_search.built(txn, dbs):
        found.extend(
            Finding("search", *problem) for problem in _lmdb_search.examine(txn, dbs, expected)
        )
    return report


def _examine_timers(
    txn: lmdb.Transaction[bytes],
    dbs: dict[bytes, Any],
    expected: dict[bytes, int],
    indexed_status: dict[bytes, str | None],
    report: Examination,
) -> None:
    found = report.findings
    by_id = dict(txn.cursor(db=dbs[b"timer_ids"]))
    for key in txn.cursor(db=dbs[b"timers"]).iternext(values=False):
        report.timers += 1
        timer_key, at = key[_SEQ:], key[:_SEQ]
        workflow_id, _, rest = timer_key.partition(b"\0")
        run_id, _, timer_id = rest.partition(b"\0")
        where = f"timer {timer_id.decode(errors='replace')!r} of " + _where(
            workflow_id + b"\0" + run_id
        )
        if by_id.pop(timer_key, None) != at:
            found.append(Finding("timers", where, "not in timer_ids with this time"))
        status = indexed_status.get(workflow_id + b"\0" + run_id, "?")
        if status == "?":
            found.append(Finding("timers", where, "its run is not in the run index"))
        elif status:  # "" for an open run; None (a damaged entry) is reported already
            found.append(Finding("timers", where, f"its run is closed ({status})"))
        fire_at = int.from_bytes(at, "big")
        if expected.pop(timer_key, fire_at) != fire_at:
            found.append(Finding("timers", where, "its time differs from the one its events set"))
    for timer_key in by_id:
        found.append(Finding("timers", repr(timer_key[:80]), "in timer_ids but not in timers"))
    for timer_key in expected:
        found.append(Finding("timers", repr(timer_key[:80]), "set by its events but missing"))


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
