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
   payloads) through the destination's own `append_batch`, whole runs a transaction,
   a page of the source's runs at a time (`_copy_plan`, parents before children): the
   destination builds its run index, search index, timers, retention filing and
   (PostgreSQL) partitions itself, in the transactions that write the events, as for
   any append. A store stamps an event only when it does not carry its own seq and
   time; each result is checked to be the events given (`_copy_check.written_as_read`).
4. Timers the source holds that no event implies (set with `schedule_timer`) are set,
   then the destination is checked against the source: every run's summary, every
   timer, which closed runs are freed for retention, and a data directory's `examine`.
   Every read of either store is a page (`_copy_pages`): a copy holds a page of runs
   or timers of each, and one batch of events, whatever the size of the stores.
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
from aion_actors.store._copy_pages import DEFAULT_PAGE, joined, timer_ids, timers_of
from aion_actors.store._copy_plan import Pass, batches, pending
from aion_actors.store.lmdb_store import LmdbStore

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
    page_runs: int = DEFAULT_PAGE,
    progress: Progress | None = None,
) -> Copied:
    """Copy every run of the store at `source` (a data directory or `postgresql://` URL)
    into the empty store at `dest`, and check the copy (see the module docstring).

    Refused with nothing written: a source an engine holds (`DataDirLocked`), a missing
    one, a destination that holds runs, is the source or lies under a missing parent
    directory (`ConfigError`). A copy that finds the destination disagreeing with the
    source raises `CopyFailed` and leaves it marked incomplete.

    Memory is bounded by a page (`page_runs` runs or timers of each store, and a batch
    of `batch_events` events), not by the size of the stores: every read is a page
    (`_copy_pages`)."""
    _check_int("batch_events", batch_events)
    _check_int("page_runs", page_runs)
    began = time.monotonic()
    check_distinct(source, dest)
    with open_source(source) as src:
        with open_dest(dest) as dst:
            name = str(dst.path)
            claim_dest(dst, name, time.time_ns())
            found = check.survey(src, dst, page_runs, name)
            events = _copy_runs(src, dst, found, batch_events, page_runs, progress)
            timers, apart = _copy_timers(src, dst, page_runs)
            check.verify(src, dst, page_runs, name)
            dst.mark_copy(None)
        return Copied(
            source=str(src.path),
            dest=name,
            runs=found.runs,
            open_runs=found.open_runs,
            events=events,
            timers=timers,
            timers_apart=apart,
            resumed=found.resumed,
            seconds=time.monotonic() - began,
        )


def _check_int(what: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{what} must be an int >= 1, not {value!r}")


def _copy_runs(
    src: LmdbStore | PostgresStore,
    dst: LmdbStore | PostgresStore,
    found: check.Survey,
    limit: int,
    page: int,
    progress: Progress | None,
) -> int:
    """Append every run's missing events, a batch a transaction, in passes over the
    source a page at a time (`_copy_plan.pending`); the events written."""
    events, done, force = 0, found.resumed, False
    while True:
        tally = Pass()
        for runs, have in pending(src, dst, page, tally, force=force):
            for batch in batches(src, runs, have, limit, str(src.path)):
                results = dst.append_batch(batch.requests)
                check.written_as_read(batch.requests, results, str(dst.path))
                if faults.ARMED:
                    faults.hit("copy.batch")
                events += batch.events
                done += batch.finished
                if progress is not None:
                    progress(done, found.runs)
        if not tally.deferred:
            return events
        force = not tally.taken  # only a cycle of parent links leaves every run waiting


def _copy_timers(src: Copyable, dst: Copyable, page: int) -> tuple[int, int]:
    """Make the destination's timers the source's, side by side a page at a time: those
    no event implies are set (and any the source cancelled apart from its events
    cancelled). Returns the source's timers, and how many were set or cancelled."""
    timers = changed = 0
    for key, timer, copied in joined(timers_of(src, page), timers_of(dst, page), timer_ids):
        timers += timer is not None
        if timer is not None and (copied is None or copied.fire_at != timer.fire_at):
            dst.schedule_timer(*key, timer.fire_at)
            changed += 1
        elif timer is None:
            dst.cancel_timer(*key)
            changed += 1
    return timers, changed
