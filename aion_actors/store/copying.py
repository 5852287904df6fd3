"""`copy_store`: every run of one store into another, empty store, of either kind — a data
directory into PostgreSQL when a service outgrows one process, or back, to read
production histories locally.

1. The source is opened with its lock (a data directory's, a PostgreSQL store's
   exclusive advisory lock), held to the end, so nothing moves it meanwhile: one an
   engine holds is refused with `DataDirLocked` naming it (`_copy_ends`).
2. The destination must hold no run. Before the first run is written it is marked
   (`copy_started` in its meta): every open but the copy's own then refuses it with
   `IncompleteCopy`, so no engine ever runs on part of the runs.
3. Each run's events are appended as recorded (workflow_id, run_id, seqs, times,
   payloads) through the destination's own `append_batch`, whole runs a transaction
   (`_copy_plan`, parents before children): the destination builds its run index,
   search index, timers, retention filing and (PostgreSQL) partitions itself, in the
   transactions that write the events, as for any append. A store stamps an event only
   when it does not carry its own seq and time; each result is checked to be the events
   given (`_copy_check.written_as_read`).
4. Timers the source holds that no event implies (set with `schedule_timer`) are set,
   then the destination is checked against the source: every run's summary, every
   timer, which closed runs are freed for retention, and a data directory's `examine`.
5. The mark is removed, in the copy's last transaction: only then does it open.

A copy interrupted anywhere (killed, a lost server) leaves the mark: the next copy from
the same source resumes it — each run from where it stopped, after checking that what
is there came from this source — and a copy from another source is refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from aion_actors.core import ConfigError, faults
from aion_actors.store import _copy_check as check
from aion_actors.store._copy_ends import (
    Copyable,
    Target,
    check_distinct,
    claim_dest,
    open_dest,
    open_source,
)
from aion_actors.store._copy_plan import batches, parents_first
from aion_actors.store.lmdb_store import LmdbStore
from aion_actors.store.protocol import RunSummary

if TYPE_CHECKING:
    from aion_actors.store.postgres import PostgresStore

#: events per transaction of the destination
DEFAULT_BATCH_EVENTS: Final = 4096
#: called after each transaction with (runs copied, runs in all)
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Copied:
    """What a copy did: where from and to, what the destination holds now, how long."""

    #: the source and the destination, as messages name them (a URL without its password)
    source: str
    dest: str
    #: runs in the destination (every run of the source), and how many of them are open
    runs: int
    open_runs: int
    #: events this copy wrote (fewer than the source holds when it resumed another)
    events: int
    #: timers in the destination (every timer of the source)
    timers: int
    #: timers no event implies (set with `schedule_timer`), set one by one
    timers_apart: int
    #: runs an interrupted copy had written already, whole (0: a fresh copy)
    resumed: int
    seconds: float


def copy_store(
    source: Target,
    dest: Target,
    *,
    batch_events: int = DEFAULT_BATCH_EVENTS,
    progress: Progress | None = None,
) -> Copied:
    """Copy every run of the store at `source` (a data directory or `postgresql://` URL)
    into the empty store at `dest`, and check the copy (see the module docstring).

    Refused with nothing written: a source an engine holds (`DataDirLocked`), a missing
    one, a destination that holds runs, is the source or lies under a missing parent
    directory (`ConfigError`). A copy that finds the destination disagreeing with the
    source raises `CopyFailed` and leaves it marked incomplete."""
    if isinstance(batch_events, bool) or not isinstance(batch_events, int) or batch_events < 1:
        raise ConfigError(f"batch_events must be an int >= 1, not {batch_events!r}")
    began = time.monotonic()
    check_distinct(source, dest)
    with open_source(source) as src:
        runs = src.runs()
        by_id = {check.ids(run): run for run in runs}
        source_timers = check.timers(src)
        source_freed = check.freed(src)
        with open_dest(dest) as dst:
            name = str(dst.path)
            resuming = claim_dest(dst, name, time.time_ns()) is not None
            written = check.resumable(src, dst, by_id, name) if resuming else {}
            resumed = sum(1 for run in runs if written.get(check.ids(run)) == run.head)
            order = parents_first(runs)
            events = _copy_runs(src, dst, order, written, batch_events, progress)
            apart = _copy_timers(source_timers, dst)
            check.verify(by_id, source_timers, source_freed, dst, name)
            dst.mark_copy(None)
        return Copied(
            source=str(src.path),
            dest=name,
            runs=len(runs),
            open_runs=sum(1 for run in runs if not run.status.is_terminal),
            events=events,
            timers=len(source_timers),
            timers_apart=apart,
            resumed=resumed,
            seconds=time.monotonic() - began,
        )


def _copy_runs(
    src: LmdbStore | PostgresStore,
    dst: LmdbStore | PostgresStore,
    order: list[RunSummary],
    written: dict[check.Key, int],
    limit: int,
    progress: Progress | None,
) -> int:
    """Append every run's missing events, a batch a transaction; the events written."""
    events = 0
    done = sum(1 for run in order if written.get(check.ids(run), 0) >= run.head)
    for batch in batches(src, order, written, limit, str(src.path)):
        results = dst.append_batch(batch.requests)
        check.written_as_read(batch.requests, results, str(dst.path))
        if faults.ARMED:
            faults.hit("copy.batch")
        events += batch.events
        done += batch.finished
        if progress is not None:
            progress(done, len(order))
    return events


def _copy_timers(source_timers: dict[check.TimerKey, int], dst: Copyable) -> int:
    """Make the destination's timers the source's: those no event implies are set (and
    any the source cancelled apart from its events cancelled); how many were."""
    copied = check.timers(dst)
    changed = 0
    for (workflow_id, run_id, timer_id), fire_at in source_timers.items():
        if copied.get((workflow_id, run_id, timer_id)) != fire_at:
            dst.schedule_timer(workflow_id, run_id, timer_id, fire_at)
            changed += 1
    for workflow_id, run_id, timer_id in copied.keys() - source_timers.keys():
        dst.cancel_timer(workflow_id, run_id, timer_id)
        changed += 1
    return changed
