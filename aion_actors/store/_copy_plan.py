"""The order a copy writes runs in, and the batches it reads them into.

Why parents go first: a closed child's retention starts from its parent's end, or waits
while its parent is open, and a store files it so only when it finds its parent's row
in the transaction that closes the child (`_lmdb_prune._file`, `postgres._prune.closed`);
a closed child written before its parent would be freed at its own end. An open child
is filed by no one until it closes (a terminal status never changes), so only closed
children wait for their parents.

Runs go in (workflow_id, run_id) order, a page of the source at a time (`pending`), each
page with parents before their children (`parents_first`). A closed child whose parent is
in the source but neither earlier in the page nor whole in the destination is left for
another pass over the source (`Pass.deferred`), which finds its parent written: passes
repeat until none is left (a chain whose ids fall from parent to child takes a pass a
link). A pass that could take no run breaks a cycle of parent links (damage) by taking
them anyway, as `parents_first` does within a page. Nothing but a page is held.

A batch holds whole runs, `limit` events in all, read from the source in one read
where it offers that (`bulk`), and becomes one `append_batch` (one transaction). A run
longer than `limit`, or one an interrupted copy wrote part of, goes alone, `limit`
events a batch, each batch appended after the one before (`expected_seq`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aion_actors.core import AionError, Event
from aion_actors.store._copy_pages import chunked, ids, joined, runs_of
from aion_actors.store.bulk import read_histories
from aion_actors.store.protocol import AppendRequest, EventStore, RunSummary

if TYPE_CHECKING:
    from aion_actors.store._copy_ends import Copyable

Key = tuple[str, str]


@dataclass(slots=True)
class Pass:
    """One pass over the source: the runs it took, and those it left for the next."""

    taken: int = 0
    deferred: int = 0


def pending(
    src: Copyable, dst: Copyable, size: int, tally: Pass, *, force: bool = False
) -> Iterator[tuple[list[RunSummary], dict[Key, int]]]:
    """Per page of `size` runs of the source: those this pass copies, in order, and the
    events the destination holds of each already (`force`: every one not yet whole)."""
    both = joined(runs_of(src, size), runs_of(dst, size), ids)
    for chunk in chunked(both, size):
        have = {key: 0 if copied is None else copied.head for key, run, copied in chunk}
        missing = [run for key, run, _ in chunk if run is not None and have[key] < run.head]
        ready: set[Key] = set()
        order = parents_first(missing)
        for run in order:
            if force or _parent_written(src, dst, run, ready):
                ready.add(ids(run))
            else:
                tally.deferred += 1
        tally.taken += len(ready)
        yield [run for run in order if ids(run) in ready], have


def _parent_written(src: EventStore, dst: EventStore, run: RunSummary, ready: set[Key]) -> bool:
    """Whether `run` may be written now: it is open, or its parent is not in the source,
    is written earlier in this page, or is whole in the destination."""
    parent = _parent(run.parent)
    if not run.status.is_terminal or parent is None or parent in ready:
        return True
    try:
        above = src.get_run(*parent)
    except AionError:  # a link no store could hold refers to nothing
        return True
    return above is None or dst.head(*parent) == above.head


@dataclass(frozen=True, slots=True)
class Batch:
    """One transaction's worth of appends, and how many runs it finishes."""

    requests: list[AppendRequest]
    finished: int

    @property
    def events(self) -> int:
        return sum(len(request.events) for request in self.requests)


def parents_first(runs: list[RunSummary]) -> list[RunSummary]:
    """`runs` (in id order) with each run after its parent, if the parent is among them."""
    known = {(run.workflow_id, run.run_id): run for run in runs}
    depth: dict[Key, int] = {}
    for run in runs:
        chain: list[Key] = []
        key: Key | None = (run.workflow_id, run.run_id)
        while key is not None and key not in depth:
            chain.append(key)
            parent = _parent(known[key].parent)
            key = parent if parent in known and parent not in chain else None
        level = -1 if key is None else depth[key]
        for each in reversed(chain):
            level += 1
            depth[each] = level
    return sorted(runs, key=lambda run: depth[(run.workflow_id, run.run_id)])


def _parent(link: dict[str, Any] | None) -> Key | None:
    if not isinstance(link, dict):
        return None
    workflow_id, run_id = link.get("workflow_id"), link.get("run_id")
    if isinstance(workflow_id, str) and isinstance(run_id, str):
        return (workflow_id, run_id)
    return None


def batches(
    source: EventStore, order: list[RunSummary], written: dict[Key, int], limit: int, name: str
) -> Iterator[Batch]:
    """The batches that copy the runs of `order` (those `written` holds part or all of
    already: from the event after), in that order; `name` names the source in errors."""
    whole: list[RunSummary] = []
    size = 0
    for run in order:
        have = written.get((run.workflow_id, run.run_id), 0)
        if have >= run.head:
            continue
        if have == 0 and run.head <= limit:
            if whole and size + run.head > limit:
                yield _whole(source, whole, name)
                whole, size = [], 0
            whole.append(run)
            size += run.head
            continue
        if whole:  # (kept in order: a parent goes before its child)
            yield _whole(source, whole, name)
            whole, size = [], 0
        for start in range(have + 1, run.head + 1, limit):
            until = min(start + limit - 1, run.head)
            try:
                events = source.read(run.workflow_id, run.run_id, start, until)
            except AionError as exc:
                raise _unreadable(run, exc, name) from None
            _check_read(run, events, start, until, name)
            request = AppendRequest(run.workflow_id, run.run_id, tuple(events), start - 1)
            yield Batch([request], 1 if until == run.head else 0)
    if whole:
        yield _whole(source, whole, name)


def _whole(source: EventStore, runs: list[RunSummary], name: str) -> Batch:
    requests = []
    found = read_histories(source, [(run.workflow_id, run.run_id) for run in runs])
    for run, events in zip(runs, found, strict=True):
        if isinstance(events, AionError):
            raise _unreadable(run, events, name)
        _check_read(run, events, 1, run.head, name)
        requests.append(AppendRequest(run.workflow_id, run.run_id, tuple(events), 0))
    return Batch(requests, len(runs))


def _check_read(run: RunSummary, events: list[Event], start: int, until: int, name: str) -> None:
    if [event.seq for event in events] != list(range(start, until + 1)):
        seqs = f"{events[0].seq}-{events[-1].seq}" if events else "none"
        raise _unreadable(
            run, AionError(f"seqs {start}-{until} were asked for, {seqs} were read"), name
        )


def _unreadable(run: RunSummary, exc: AionError, name: str) -> AionError:
    return AionError(
        f"run {run.run_id} of {run.workflow_id!r} in the source {name} cannot be read ({exc}); "
        f"nothing more was copied, and the destination stays marked incomplete — "
        f"`aion-actors doctor` on the source lists what is damaged"
    )
