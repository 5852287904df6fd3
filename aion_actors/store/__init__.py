"""Durable histories: the `EventStore` protocol, its stores and the group-committing `Recorder`.

Projections. The run index and the timer index are maintained inside the
same write transaction as the events they follow from, so after a crash they
can never disagree with history:

- a run's first event creates its summary (status running, `started_at` its
  `recorded_at`); `WorkflowStarted` sets `workflow_type`, `version`,
  `parent` and `started_at`, and schedules `"timeout:execution"` at its
  `execution_deadline` and `"timeout:run"` at its `run_deadline`, if set;
- every event folds into `status` via `next_status` and advances `head`; the
  event that makes the status terminal sets `ended_at`; `RunRestarted`
  increments `restarts`; `AttributesSet` merges into `attributes` (a None
  value deletes its name), which the LMDB search index lists (`_lmdb_search`);
- `TimerStarted` schedules `timer_id` at `fire_at`; `TimerFired` and
  `TimerCancelled` cancel it; `ActivityAttemptFailed` with `retry_at`
  schedules `"retry:" + activity_id`, which the next `ActivityScheduled` of
  that activity cancels; an `ActivityScheduled` with a `deadline` schedules
  `"deadline:" + activity_id`; `ActivityCompleted` and `ActivityFailed`
  cancel both; the event that ends the run cancels all of its timers, and an
  ended run schedules no new ones.

`schedule_timer`/`cancel_timer` change the timer index directly, for timers
that no event records. Ids are validated with `check_id`; a timer key
(run ids plus timer id) must fit LMDB's 511-byte key limit in every store.
"""

from aion_actors.store._lmdb_backup import Backup
from aion_actors.store._lmdb_records import DamagedRun
from aion_actors.store._search import RunFilters, RunPage, RunQuery
from aion_actors.store.copying import Copied, copy_store
from aion_actors.store.lmdb_store import LmdbStore
from aion_actors.store.memory import MemoryStore
from aion_actors.store.protocol import AppendRequest, DueTimer, EventStore, RunSummary
from aion_actors.store.recorder import Commit, Recorder

__all__ = [
    "AppendRequest",
    "Backup",
    "Commit",
    "Copied",
    "DamagedRun",
    "DueTimer",
    "EventStore",
    "LmdbStore",
    "MemoryStore",
    "Recorder",
    "RunFilters",
    "RunPage",
    "RunQuery",
    "RunSummary",
    "copy_store",
]
