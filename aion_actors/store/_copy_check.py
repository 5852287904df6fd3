"""What a copy checks: that an unfinished copy it resumes came from this source, and that
the destination it finished agrees with the source, run by run.

The destination builds its run index, search index, timers and retention filing itself,
from the events, in the transactions that write them; these checks compare the outcome
with the source's own: every run's summary (status, head, type, times, parent, search
attributes...), every timer with its time, and which closed runs are freed for
retention (their parent is not open). A data directory is also examined (`examine`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Final

from aion_actors.core import AionError, CopyFailed, Event
from aion_actors.store import _projection as proj
from aion_actors.store.lmdb_store import LmdbStore
from aion_actors.store.protocol import AppendRequest, DueTimer, EventStore, RunSummary

Key = tuple[str, str]
TimerKey = tuple[str, str, str]
#: problems listed in an error at most (`CopyFailed` shows the first five)
_MAX_PROBLEMS: Final = 50
START_OVER: Final = "delete the destination (or drop its schema) and copy again"
_FIELDS: Final = dataclasses.fields(RunSummary)


def ids(run: RunSummary) -> Key:
    return (run.workflow_id, run.run_id)


def _named(key: Key) -> str:
    return f"run {key[1]} of {key[0]!r}"


def timers(store: EventStore) -> dict[TimerKey, int]:
    """Every timer of `store`, due or not, by (workflow_id, run_id, timer_id)."""
    return {_timer_key(t): t.fire_at for t in store.due_timers(proj.MAX_TIME)}


def _timer_key(timer: DueTimer) -> TimerKey:
    return (timer.workflow_id, timer.run_id, timer.timer_id)


def freed(store: EventStore) -> set[Key]:
    """The closed runs whose retention has started (their parent is not open)."""
    return {ids(run) for run in store.expired_runs(proj.MAX_TIME, _no_retention)}


def _no_retention(workflow_type: str) -> int:
    return 0


def resumable(
    source: EventStore, dest: EventStore, runs: dict[Key, RunSummary], name: str
) -> dict[Key, int]:
    """The events an unfinished copy wrote, per run (its head), checked against the source:
    each of its runs is in the source with at least as many events, and where it stopped
    part-way its last event is the source's (histories only grow: the source may have
    run on meanwhile). Anything else is `CopyFailed`: it was filled from another store."""
    written = {ids(run): run.head for run in dest.runs()}
    problems = []
    for key, head in written.items():
        found = runs.get(key)
        if found is None:
            problems.append(f"{_named(key)} is not in the source")
        elif found.head < head:
            problems.append(f"{_named(key)} has {head} events, the source {found.head}")
        elif 0 < head < found.head and dest.read(*key, head, head) != source.read(*key, head, head):
            problems.append(f"{_named(key)} differs from the source's at seq {head}")
        if len(problems) >= _MAX_PROBLEMS:
            break
    if problems:
        raise CopyFailed(name, problems, f"it was not copied from this source; {START_OVER}")
    return written


def written_as_read(
    requests: Sequence[AppendRequest], results: list[list[Event] | AionError], name: str
) -> None:
    """Each append of a batch stored its events as the source recorded them (no error,
    no seq or time stamped anew)."""
    problems = []
    for request, result in zip(requests, results, strict=True):
        if isinstance(result, AionError) or result != list(request.events):
            what = str(result) if isinstance(result, AionError) else "stored other events"
            problems.append(f"{_named((request.workflow_id, request.run_id))}: {what}")
    if problems:
        raise CopyFailed(name, problems, f"nothing after it was copied; {START_OVER}")


def verify(
    runs: dict[Key, RunSummary],
    source_timers: dict[TimerKey, int],
    source_freed: set[Key],
    dest: EventStore,
    name: str,
) -> None:
    """The finished destination agrees with the source: `CopyFailed` listing what does not."""
    problems: list[str] = []
    note = _collector(problems)
    copied = {ids(run): run for run in dest.runs()}
    for key in runs.keys() - copied.keys():
        note(f"{_named(key)} is missing")
    for key in copied.keys() - runs.keys():
        note(f"{_named(key)} is not in the source")
    for key, run in copied.items():
        want = runs.get(key)
        if want is not None and want != run:
            fields = [f.name for f in _FIELDS if getattr(want, f.name) != getattr(run, f.name)]
            note(f"{_named(key)}: its {', '.join(fields)} differ from the source's")
    dest_timers = timers(dest)
    for timer in source_timers.keys() | dest_timers.keys():
        if source_timers.get(timer) != dest_timers.get(timer):
            note(
                f"timer {timer[2]!r} of {_named(timer[:2])}: at {dest_timers.get(timer)}, "
                f"in the source at {source_timers.get(timer)}"
            )
    for key in freed(dest) ^ source_freed:
        where = "source" if key in source_freed else "copy"
        note(f"{_named(key)}: its retention has started in the {where} only")
    if isinstance(dest, LmdbStore):
        for finding in dest.examine().findings:
            note(str(finding))
    if problems:
        raise CopyFailed(name, problems, START_OVER)


def _collector(problems: list[str]) -> Callable[[str], None]:
    def note(problem: str) -> None:
        if len(problems) < _MAX_PROBLEMS:
            problems.append(problem)

    return note
