"""What a copy checks: that an unfinished copy it resumes came from this source, and that
the destination it finished agrees with the source, run by run.

The destination builds its run index, search index, timers and retention filing itself,
from the events, in the transactions that write them; these checks compare the outcome
with the source's own: every run's summary (status, head, type, times, parent, search
attributes...), every timer with its time, and which closed runs are freed for
retention (their parent is not open). A data directory is also examined (`examine`).
Both stores are read side by side a page at a time (`_copy_pages`), never whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from aion_actors.core import AionError, CopyFailed, Event
from aion_actors.store._copy_pages import (
    Key,
    chunked,
    ids,
    joined,
    runs_of,
    timer_ids,
    timers_of,
)
from aion_actors.store.lmdb_store import LmdbStore
from aion_actors.store.protocol import AppendRequest, RunSummary

if TYPE_CHECKING:
    from aion_actors.store._copy_ends import Copyable

#: problems listed in an error at most (`CopyFailed` shows the first five)
_MAX_PROBLEMS: Final = 50
START_OVER: Final = "delete the destination (or drop its schema) and copy again"
_FIELDS: Final = dataclasses.fields(RunSummary)


def _named(key: Key) -> str:
    return f"run {key[1]} of {key[0]!r}"


@dataclass(slots=True)
class Survey:
    """The source's runs, counted before a copy writes (a page at a time), and what of
    them an unfinished copy wrote whole already."""

    runs: int = 0
    open_runs: int = 0
    resumed: int = 0


def survey(src: Copyable, dst: Copyable, size: int, name: str) -> Survey:
    """Count the source's runs, and check what an unfinished copy wrote against the
    source: each of its runs is in the source with at least as many events, and where it
    stopped part-way its last event is the source's (histories only grow: the source may
    have run on meanwhile). Anything else is `CopyFailed`: it was filled from another
    store. Reads both stores side by side, a page of each at a time."""
    found = Survey()
    problems: list[str] = []
    for key, run, copied in joined(runs_of(src, size), runs_of(dst, size), ids):
        if run is not None:
            found.runs += 1
            found.open_runs += not run.status.is_terminal
        head = 0 if copied is None else copied.head
        if copied is None or len(problems) >= _MAX_PROBLEMS:
            continue
        if run is None:
            problems.append(f"{_named(key)} is not in the source")
        elif run.head < head:
            problems.append(f"{_named(key)} has {head} events, the source {run.head}")
        elif head < run.head and dst.read(*key, head, head) != src.read(*key, head, head):
            problems.append(f"{_named(key)} differs from the source's at seq {head}")
        elif head == run.head:
            found.resumed += 1
    if problems:
        raise CopyFailed(name, problems, f"it was not copied from this source; {START_OVER}")
    return found


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


def verify(src: Copyable, dst: Copyable, size: int, name: str) -> None:
    """The finished destination agrees with the source — every run's summary, which closed
    runs are freed for retention, every timer, a data directory's `examine` — read side
    by side, a page of each at a time: `CopyFailed` listing what does not."""
    problems: list[str] = []
    note = _collector(problems)
    both_runs = joined(runs_of(src, size), runs_of(dst, size), ids)
    for chunk in chunked(both_runs, size):
        for key, want, run in chunk:
            if run is None:
                note(f"{_named(key)} is missing")
            elif want is None:
                note(f"{_named(key)} is not in the source")
            elif want != run:
                fields = [f.name for f in _FIELDS if getattr(want, f.name) != getattr(run, f.name)]
                note(f"{_named(key)}: its {', '.join(fields)} differ from the source's")
        both = [key for key, want, run in chunk if want is not None and run is not None]
        for key, freed, copied in zip(
            both, src.freed_among(both), dst.freed_among(both), strict=True
        ):
            if freed != copied:
                where = "source" if freed else "copy"
                note(f"{_named(key)}: its retention has started in the {where} only")
    for timer, a, b in joined(timers_of(src, size), timers_of(dst, size), timer_ids):
        want_at, at = (a.fire_at if a else None), (b.fire_at if b else None)
        if want_at != at:
            note(f"timer {timer[2]!r} of {_named(timer[:2])}: at {at}, in the source at {want_at}")
    if isinstance(dst, LmdbStore):
        for finding in dst.examine().findings:
            note(str(finding))
    if problems:
        raise CopyFailed(name, problems, START_OVER)


def _collector(problems: list[str]) -> Callable[[str], None]:
    def note(problem: str) -> None:
        if len(problems) < _MAX_PROBLEMS:
            problems.append(problem)

    return note
